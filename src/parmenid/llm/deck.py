"""Structured deck tasks shared by every provider: an outline, and one slide's bullets.

Remote models get the JSON schemas below (Anthropic as a forced tool, OpenAI as a strict
`json_schema` response format) and cite the numbered sources of their prompt as `source: n`.
The local extractive engine produces the same shapes from `ChatRequest.context` and
`ChatRequest.hints`, so generation has one path whichever provider answers.

* outline: ``{"slides": [{"title", "key_points": [{"text", "source"}]}]}``;
  hints ``{"topic": str, "slides": int}``.
* slide: ``{"title", "bullets": [{"text", "source"}], "speaker_notes"}``;
  hints ``{"title": str, "key_points": [str], "instruction": str | None}``.

`source` is the 1-based number of a passage in the request's context; the caller keeps only
statements whose number exists (an uncited statement is not grounded).
"""

from __future__ import annotations

import re
from typing import Any

from parmenid.llm import local_engine
from parmenid.llm.types import ChatRequest

OUTLINE = "outline"
SLIDE = "slide"

_STATEMENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "One short statement from a source"},
        "source": {"type": "integer", "description": "The number n of the source [n]"},
    },
    "required": ["text", "source"],
    "additionalProperties": False,
}

OUTLINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "slides": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "key_points": {"type": "array", "items": _STATEMENT},
                },
                "required": ["title", "key_points"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["slides"],
    "additionalProperties": False,
}

SLIDE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "bullets": {"type": "array", "items": _STATEMENT},
        "speaker_notes": {"type": "string"},
    },
    "required": ["title", "bullets", "speaker_notes"],
    "additionalProperties": False,
}

SCHEMAS = {OUTLINE: OUTLINE_SCHEMA, SLIDE: SLIDE_SCHEMA}

_SHORTER = re.compile(r"short|brief|concise|fewer|коротк|кратк|сократ|меньше", re.IGNORECASE)
_MORE = re.compile(
    r"more|detail|data|number|longer|expand|больше|подробн|детал|данн|цифр", re.IGNORECASE
)


def bullet_shape(instruction: str | None) -> tuple[int, int]:
    """How many bullets and words each the local engine writes for an instruction: "shorter"
    means 3 bullets of at most 12 words, "more data" 6 of at most 28, otherwise 4 of 20."""
    if instruction and _SHORTER.search(instruction):
        return 3, 12
    if instruction and _MORE.search(instruction):
        return 6, 28
    return 4, 20


def _passages(request: ChatRequest) -> tuple[list[local_engine.Passage], dict[str, int]]:
    passages = [local_engine.Passage(p.id, p.text, p.citation) for p in request.context]
    return passages, {p.id: n for n, p in enumerate(request.context, 1)}


def local_result(request: ChatRequest) -> dict[str, Any]:
    """The local engine's answer to a structured deck task (see the module docstring)."""
    passages, number = _passages(request)
    hints = request.hints
    if request.schema_name == OUTLINE:
        items = local_engine.outline(
            str(hints.get("topic", "")), passages, slides=int(hints.get("slides", 10))
        )
        return {
            "slides": [
                {
                    "title": item.title,
                    "key_points": [
                        {"text": point.text, "source": number[point.passage_id]}
                        for point in item.key_points
                    ],
                }
                for item in items
            ]
        }
    if request.schema_name == SLIDE:
        count, words = bullet_shape(hints.get("instruction"))
        title = str(hints.get("title", ""))
        query = " ".join([title, *map(str, hints.get("key_points", []))])
        statements = local_engine.bullets(query, passages, count=count, max_words=words)
        cited = sorted({s.citation for s in statements})
        return {
            "title": title,
            "bullets": [{"text": s.text, "source": number[s.passage_id]} for s in statements],
            "speaker_notes": ("Sources: " + "; ".join(cited)) if cited else "",
        }
    raise ValueError(f"no local deck task named {request.schema_name!r}")
