"""Versioned prompt templates: code defaults, database versions, A/B weights."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from parmenid.llm.models import PromptTemplate
from parmenid.llm.prompts import DEFAULTS, PromptLibrary
from parmenid.runtime import Runtime


async def test_the_code_default_is_used_until_a_version_is_active(runtime: Runtime) -> None:
    library = PromptLibrary(runtime.db, cache_seconds=0)
    prompt = await library.pick("chat_answer")
    assert prompt == DEFAULTS["chat_answer"]
    assert prompt.version == 0
    system, user = prompt.render(persona="You are Parmenid.", sources="[1] x", question="Q?")
    assert system.startswith("You are Parmenid.") and "[1] x" in system
    assert user == "Q?"
    with pytest.raises(KeyError):
        await library.pick("no_such_purpose")


async def test_active_versions_are_drawn_by_weight(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        session.add_all(
            [
                PromptTemplate(
                    name="outline",
                    version=1,
                    system_template="A {tone}",
                    user_template="u",
                    ab_weight=3.0,
                ),
                PromptTemplate(
                    name="outline",
                    version=2,
                    system_template="B {tone}",
                    user_template="u",
                    ab_weight=1.0,
                ),
                PromptTemplate(
                    name="outline",
                    version=3,
                    system_template="C",
                    user_template="u",
                    is_active=False,
                ),
            ]
        )
    library = PromptLibrary(runtime.db, cache_seconds=60)
    rng = random.Random(7)
    drawn = Counter([(await library.pick("outline", rng=rng)).version for _ in range(400)])
    assert set(drawn) == {1, 2}  # the inactive version never runs
    assert 2.2 < drawn[1] / drawn[2] < 4.2  # about 3 : 1
    prompt = await library.pick("outline", rng=rng)
    assert prompt.render(tone="formal", unknown="x")[0] in ("A formal", "B formal")
    assert PromptTemplate.__tablename__ == "prompt_templates"


async def test_unknown_placeholders_never_crash_a_call(runtime: Runtime) -> None:
    prompt = DEFAULTS["slide"]
    system, user = prompt.render(tone="formal")
    assert "{audience}" in system  # left as is
    assert "{number}" in user
