"""Structured replies of a faithful deck-writing model for the fake LLM server: it cites the
numbered sources `[n] (citation) text` of its system prompt, as the prompts ask."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.llm_server import Received

SOURCE = re.compile(r"^\[(\d+)\] \([^)]*\) (.+)$", re.MULTILINE)


def is_outline(received: Received) -> bool:
    return received.body.get("tool_choice", {}).get("name") == "outline"


def deck_reply(received: Received, *, outline_items: int = 3) -> dict[str, Any]:
    """An outline of `outline_items` items, or a slide, each statement the first sentence of
    one of the first four sources, cited by its number."""
    sources = SOURCE.findall(received.system or "")
    first = [{"text": text.split(". ")[0][:200], "source": int(n)} for n, text in sources[:4]]
    if is_outline(received):
        items = [{"title": f"Part {i + 1}", "key_points": first} for i in range(outline_items)]
        return {"slides": items}
    return {"title": "From the model", "bullets": first, "speaker_notes": "Say it slowly."}
