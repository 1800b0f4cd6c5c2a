"""The model calls of generation: an outline for a deck, the bullets of one slide.

Both go through the LLM gateway (quotas, fallback, traces) with a versioned prompt template and
a structured-output schema (`parmenid.llm.deck`). What comes back is kept only where it is
grounded: a statement whose `source` is not one of the numbered passages is dropped, so every
bullet that reaches a slide carries an attribution.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from parmenid.core.errors import AppError, Text
from parmenid.llm import deck
from parmenid.llm.gateway import CallContext
from parmenid.llm.types import ChatMessage, ChatRequest
from parmenid.presentai.generation.grounding import Grounding
from parmenid.runtime import Runtime

MAX_TITLE = 300
MAX_STATEMENT = 1000


class NotGrounded(AppError):
    """The model's answer cited none of the sources."""

    code = "not_grounded"
    status = 422


@dataclass(frozen=True)
class DeckBrief:
    """The presentation's parameters as the prompts use them."""

    organization_id: uuid.UUID
    title: str
    tone: str
    audience: str
    language: str
    slides: int


def _statements(raw: object, grounding: Grounding, limit: int) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        text = " ".join(str(item.get("text", "")).split())[:MAX_STATEMENT]
        attribution = grounding.attribution(item.get("source"), text)
        if text and attribution is not None:
            kept.append({"text": text, "attribution": attribution})
        if len(kept) >= limit:
            break
    return kept


async def write_outline(
    runtime: Runtime, brief: DeckBrief, grounding: Grounding, request_id: str | None = None
) -> list[dict[str, Any]]:
    """Outline items `{slide_number, title, key_points: [{text, attribution}]}`, at most
    `brief.slides` of them, each with at least one grounded key point."""
    prompt = await runtime.prompts.pick(deck.OUTLINE)
    system, user = prompt.render(
        tone=brief.tone,
        audience=brief.audience,
        language=brief.language,
        sources=grounding.numbered(),
        slides=brief.slides,
        title=brief.title,
    )
    request = ChatRequest(
        [ChatMessage("system", system), ChatMessage("user", user)],
        max_tokens=min(8000, 400 + 250 * brief.slides),
        json_schema=deck.OUTLINE_SCHEMA,
        schema_name=deck.OUTLINE,
        context=grounding.passages,
        hints={"topic": brief.title, "slides": brief.slides},
    )
    context = CallContext(brief.organization_id, "generation", "outline", prompt, request_id)
    completion = await runtime.gateway.complete(request, context)
    raw = completion.data.get("slides") if isinstance(completion.data, dict) else None
    items: list[dict[str, Any]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        points = _statements(entry.get("key_points"), grounding, 6)
        title = " ".join(str(entry.get("title", "")).split())[:MAX_TITLE]
        if points and title:
            items.append({"slide_number": len(items) + 1, "title": title, "key_points": points})
        if len(items) >= brief.slides:
            break
    if not items:
        items = _tabular_outline(grounding, brief.slides)
    if not items:
        raise NotGrounded(
            Text(
                "The outline could not be grounded in the sources: add sources about the topic.",
                "Не удалось построить план по источникам: добавьте источники по теме.",
            )
        )
    return items


def _tabular_outline(grounding: Grounding, slides: int) -> list[dict[str, Any]]:
    """An outline for material that is only tables (no sentence to plan from): one item per
    spreadsheet passage, titled by its sheet, its header row as the key point."""
    items: list[dict[str, Any]] = []
    for number, attribution in enumerate(grounding.attributions, 1):
        sheet = (attribution.get("location") or {}).get("sheet")
        header = grounding.passages[number - 1].text.split("\n", 1)[0].strip()
        if not sheet or " | " not in header:
            continue
        point = grounding.attribution(number, header)
        assert point is not None
        title = str(sheet) if not items else f"{sheet} ({len(items) + 1})"
        items.append(
            {
                "slide_number": len(items) + 1,
                "title": title[:MAX_TITLE],
                "key_points": [{"text": header[:MAX_STATEMENT], "attribution": point}],
            }
        )
        if len(items) >= slides:
            break
    return items


async def write_slide(
    runtime: Runtime,
    brief: DeckBrief,
    number: int,
    plan: dict[str, Any],
    grounding: Grounding,
    instruction: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """`{title, bullets: [{text, attribution}], speaker_notes}` for outline item `plan`."""
    title = str(plan.get("title", ""))
    points = [str(p.get("text", "")) for p in plan.get("key_points", []) if isinstance(p, dict)]
    prompt = await runtime.prompts.pick(deck.SLIDE)
    system, user = prompt.render(
        tone=brief.tone,
        audience=brief.audience,
        language=brief.language,
        sources=grounding.numbered(),
        number=number,
        slide_title=title,
        title=brief.title,
        instruction=(f"Instruction: {instruction}" if instruction else ""),
        key_points="; ".join(points),
    )
    request = ChatRequest(
        [ChatMessage("system", system), ChatMessage("user", user)],
        max_tokens=1200,
        json_schema=deck.SLIDE_SCHEMA,
        schema_name=deck.SLIDE,
        context=grounding.passages,
        hints={"title": title, "key_points": points, "instruction": instruction},
    )
    context = CallContext(brief.organization_id, "generation", "slide", prompt, request_id)
    completion = await runtime.gateway.complete(request, context)
    data = completion.data if isinstance(completion.data, dict) else {}
    bullets = _statements(data.get("bullets"), grounding, 8)
    if not bullets:
        raise NotGrounded(
            Text(
                "No statement of this slide could be grounded in the sources.",
                "Ни одно утверждение слайда не удалось подкрепить источниками.",
            )
        )
    written_title = " ".join(str(data.get("title") or title).split())[:MAX_TITLE] or title
    return {
        "title": written_title,
        "bullets": bullets,
        "speaker_notes": str(data.get("speaker_notes") or "")[:10_000],
    }
