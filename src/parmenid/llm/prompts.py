"""Versioned prompt templates: defaults ship in code, versions live in the database.

For a purpose (`outline`, `slide`, `chat_answer`), the active database versions compete by A/B
weight; with none active, the code default (version 0) is used. Placeholders are `{name}` and are
filled with `str.format_map`; unknown placeholders stay as they are, so a template edited by an
admin can never crash a call.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from sqlalchemy import select

from parmenid.core.db import Database
from parmenid.llm.models import PromptTemplate


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    system: str
    user: str

    def render(self, **values: object) -> tuple[str, str]:
        mapping = _KeepMissing(values)
        return self.system.format_map(mapping), self.user.format_map(mapping)


class _KeepMissing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


DEFAULTS: dict[str, Prompt] = {
    "chat_answer": Prompt(
        "chat_answer",
        0,
        "{persona}\nAnswer only from the numbered sources below, in the language of the question."
        " Cite sources as [n]. If the sources do not contain the answer, say so plainly and do"
        " not guess.\n\nSources:\n{sources}",
        "{question}",
    ),
    "outline": Prompt(
        "outline",
        0,
        "You plan presentations grounded in the numbered sources below. Tone: {tone}. Audience:"
        " {audience}. Language: {language}. Every key point must come from a source: put the"
        " number n of that source [n] in its `source` field.\n\nSources:\n{sources}",
        'Plan a {slides}-slide presentation titled "{title}": one item per slide, each with a'
        " short title and the key points it will make. Return the outline.",
    ),
    "slide": Prompt(
        "slide",
        0,
        "You write one slide grounded in the numbered sources below. Tone: {tone}. Audience:"
        " {audience}. Language: {language}. Each bullet is one short statement from a source,"
        " with the number n of that source [n] in its `source` field.\n\nSources:\n{sources}",
        'Write slide {number} "{slide_title}" of the presentation "{title}". Cover:'
        " {key_points}. {instruction}",
    ),
}


class PromptLibrary:
    def __init__(self, db: Database, *, cache_seconds: float = 30.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, list[PromptTemplate]]] = {}

    async def pick(self, name: str, *, rng: random.Random | None = None) -> Prompt:
        """One active version of `name`, drawn by A/B weight; the code default if none."""
        versions = [v for v in await self._active(name) if v.ab_weight > 0]
        if not versions:
            if name not in DEFAULTS:
                raise KeyError(f"no prompt template named {name!r}")
            return DEFAULTS[name]
        chosen = (rng or random).choices(versions, weights=[v.ab_weight for v in versions])[0]
        return Prompt(chosen.name, chosen.version, chosen.system_template, chosen.user_template)

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    async def _active(self, name: str) -> list[PromptTemplate]:
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        async with self.db.session() as session:
            rows = list(
                (
                    await session.scalars(
                        select(PromptTemplate).where(
                            PromptTemplate.name == name, PromptTemplate.is_active.is_(True)
                        )
                    )
                ).all()
            )
        self._cache[name] = (time.monotonic(), rows)
        return rows
