"""Generation under the real SDKs and when things go wrong: a slide that cannot be grounded,
every LLM down, the quota used up, the index down, a process that dies mid-job, and a slide
regenerated with an instruction."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.jobs import Job
from parmenid.knowledge.index import KnowledgeIndex
from parmenid.llm.models import TokenQuota
from parmenid.llm.quotas import month_of
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.generation.progress import stream_of
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.slides.models import Slide, SlideVersion
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.deck_model import deck_reply, is_outline
from tests.fakes.llm_server import FakeLLM, Received
from tests.fakes.server import ServerThread, free_port
from tests.helpers import error_of
from tests.presentai.generation_support import API, Deck, deck_with_source


def _grounded_reply(received: Received) -> dict[str, Any]:
    """A faithful model, except that slide 2 of every deck cites a source that does not exist
    (it must fail alone)."""
    user = str(received.messages[-1]["content"]) if received.messages else ""
    if not is_outline(received) and 'Write slide 2 "' in user:
        made_up = [{"text": "Made up", "source": 999}]
        return {"title": "Bad", "bullets": made_up, "speaker_notes": ""}
    return deck_reply(received)


@pytest.fixture(scope="module")
def fake_claude() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(structured=_grounded_reply)
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def settings_overrides(fake_claude: tuple[FakeLLM, str]) -> dict[str, Any]:
    fake, url = fake_claude
    fake.fail_mode = None
    fake.received.clear()
    return {
        "rate_limit": {"enabled": False},
        "llm": {
            "fallback_chain": ["anthropic"],
            "anthropic_api_key": "test-key",
            "anthropic_base_url": url,
            "retry_attempts": 1,
            "breaker_failures": 2,
        },
    }


async def _events(runtime: Runtime, job_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await runtime.streams.read(stream_of(job_id), count=1000)]


async def _generate(client: httpx.AsyncClient, runtime: Runtime, deck: Deck, step: str) -> str:
    started = await client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/{step}", headers=deck.headers
    )
    assert started.status_code == 202, started.text
    await run_jobs(runtime)
    job_id: str = started.json()["job_id"]
    return job_id


async def test_sdk_generation_keeps_the_good_slides_when_one_fails(
    presentai_client: httpx.AsyncClient, runtime: Runtime, fake_claude: tuple[FakeLLM, str]
) -> None:
    deck = await deck_with_source(presentai_client, runtime, slides=3)
    outline_job = await _generate(presentai_client, runtime, deck, "outline")
    [outlined] = await _events(runtime, outline_job)
    assert [item["title"] for item in outlined["outline"]] == ["Part 1", "Part 2", "Part 3"]
    request = fake_claude[0].received[0]
    assert request.path == "/v1/messages"
    assert request.body["tool_choice"] == {"type": "tool", "name": "outline"}

    slides_job = await _generate(presentai_client, runtime, deck, "slides")
    events = await _events(runtime, slides_job)
    kinds = sorted(e["type"] for e in events)
    assert kinds == ["generation_done", "generation_error", "slide_completed", "slide_completed"]
    error = next(e for e in events if e["type"] == "generation_error")
    assert (error["slide_number"], error["error_code"]) == (2, "not_grounded")
    assert events[-1]["type"] == "generation_done" and events[-1]["total_slides"] == 2
    got = (
        await presentai_client.get(
            f"{API}/presentations/{deck.presentation_id}/jobs/{slides_job}", headers=deck.headers
        )
    ).json()
    assert got["status"] == "succeeded"
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
        slides = (await session.scalars(select(Slide).order_by(Slide.position))).all()
    assert presentation is not None and presentation.status == "ready"
    assert [s.status for s in slides] == ["ready", "failed", "ready"]
    assert slides[0].content["speaker_notes"] == "Say it slowly."
    for bullet in slides[0].content["bullets"]:
        assert bullet["text"] in " ".join(bullet["attribution"]["excerpt"].split())


async def test_all_llms_down_fails_the_job_then_refuses_with_503(
    presentai_client: httpx.AsyncClient, runtime: Runtime, fake_claude: tuple[FakeLLM, str]
) -> None:
    deck = await deck_with_source(presentai_client, runtime)
    fake_claude[0].fail_mode = "500"
    job_id = await _generate(presentai_client, runtime, deck, "outline")
    [failed] = await _events(runtime, job_id)
    assert failed == {
        "type": "generation_error",
        "job_id": job_id,
        "error_code": "llm_unavailable",
        "error_message": failed["error_message"],
        "seq": 1,
    }
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
    assert presentation is not None and presentation.status == "failed"
    assert presentation.failure_reason
    await _generate_fails_again(presentai_client, runtime, deck)  # opens the breaker (2 failures)
    refused = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    body = error_of(refused, 503, "llm_unavailable")
    assert 1 <= body["retry_after"] <= 30
    assert refused.headers["retry-after"] == str(body["retry_after"])


async def _generate_fails_again(client: httpx.AsyncClient, runtime: Runtime, deck: Deck) -> None:
    job_id = await _generate(client, runtime, deck, "outline")
    assert (await _events(runtime, job_id))[0]["error_code"] == "llm_unavailable"


async def test_quota_used_up_answers_429(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime)
    async with runtime.db.session() as session:
        session.add(
            TokenQuota(
                organization_id=uuid.UUID(deck.organization_id),
                month=month_of(utcnow()),
                used=10**12,
                reserved=0,
            )
        )
    refused = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    body = error_of(refused, 429, "token_limit_exceeded")
    assert body["limit"] > 0
    async with runtime.db.session() as session:
        assert await session.scalar(select(GenerationJob.id)) is None  # nothing was queued


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": {"enabled": False}}])
async def test_index_down_generates_from_the_files_and_warns(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime, slides=3)
    await run_jobs(runtime)  # the source is indexed first
    runtime._index = KnowledgeIndex(url=f"http://127.0.0.1:{free_port()}", timeout=1)
    job_id = await _generate(presentai_client, runtime, deck, "outline")
    events = await _events(runtime, job_id)
    assert [e["type"] for e in events] == ["generation_warning", "outline_generated"]
    assert events[0]["code"] == "rag_unavailable"
    assert events[1]["outline"][0]["key_points"][0]["attribution"]["document_id"] == (
        deck.document_id
    )
    shown = await presentai_client.get(
        f"{API}/presentations/{deck.presentation_id}/jobs/{job_id}", headers=deck.headers
    )
    assert shown.json()["status"] == "succeeded"
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
    assert presentation is not None
    assert [w["code"] for w in presentation.warnings["items"]] == ["rag_unavailable"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": False}, "presentai": {"slide_concurrency": 1}}],
)
async def test_a_job_interrupted_by_a_dead_process_resumes_where_it_stopped(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime, slides=4)
    await _generate(presentai_client, runtime, deck, "outline")
    started = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/slides", headers=deck.headers
    )
    job_id = started.json()["job_id"]
    worker = runtime.worker()
    [claimed] = await worker.claim(1)
    run = asyncio.create_task(worker._execute(claimed))
    while len(await _events(runtime, job_id)) < 2:  # two slides written, then the crash
        await asyncio.sleep(0.005)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    async with runtime.db.session() as session:  # the dead worker's lease runs out
        await session.execute(
            update(Job)
            .where(Job.id == claimed.id)
            .values(status="running", lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs(runtime)
    events = await _events(runtime, job_id)
    completed = [e["slide_number"] for e in events if e["type"] == "slide_completed"]
    assert sorted(completed) == [1, 2, 3, 4]  # each slide announced once
    assert events[-1]["type"] == "generation_done" and events[-1]["total_slides"] == 4
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    async with runtime.db.session() as session:
        versions = (await session.scalars(select(SlideVersion))).all()
    assert len(versions) == 4  # no slide written twice


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": False}, "presentai": {"generation_max_attempts": 1}}],
)
async def test_a_job_interrupted_too_often_fails_cleanly(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime)
    await run_jobs(runtime)
    started = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    job_id = started.json()["job_id"]
    async with runtime.db.session() as session:  # it was claimed once by a worker that died
        await session.execute(
            update(Job)
            .where(Job.name == "presentation.generate")
            .values(status="running", attempts=1, lease_expires_at=utcnow() - timedelta(1))
        )
    await run_jobs(runtime)
    [event] = await _events(runtime, job_id)
    assert (event["type"], event["error_code"]) == ("generation_error", "interrupted")
    job = (
        await presentai_client.get(
            f"{API}/presentations/{deck.presentation_id}/jobs/{job_id}", headers=deck.headers
        )
    ).json()
    assert (job["status"], job["error_code"]) == ("failed", "interrupted")


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": {"enabled": False}}])
async def test_regenerate_a_slide_shorter_makes_a_new_version(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime, slides=2)
    await _generate(presentai_client, runtime, deck, "outline")
    await _generate(presentai_client, runtime, deck, "slides")
    async with runtime.db.session() as session:
        slide = (await session.scalars(select(Slide).order_by(Slide.position))).first()
    assert slide is not None
    before = slide.content["bullets"]
    started = await presentai_client.post(
        f"{API}/slides/{slide.id}/regenerate",
        json={"instruction": "shorter"},
        headers=deck.headers,
    )
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "slide"
    await run_jobs(runtime)
    events = await _events(runtime, started.json()["job_id"])
    assert [e["type"] for e in events] == ["slide_completed", "generation_done"]
    assert events[0]["progress_pct"] == 100 and events[1]["total_slides"] == 1
    async with runtime.db.session() as session:
        versions = (
            await session.scalars(
                select(SlideVersion)
                .where(SlideVersion.slide_id == slide.id)
                .order_by(SlideVersion.version)
            )
        ).all()
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
    assert [(v.version, v.reason, v.note) for v in versions] == [
        (1, "generated", None),
        (2, "regenerated", "shorter"),
    ]
    after = versions[-1].content["bullets"]
    assert len(after) <= 3 < len(before) or len(after) < len(before)
    assert all(len(b["text"].split()) <= 12 for b in after)
    assert presentation is not None and presentation.status == "ready"
    assert json.dumps(after, ensure_ascii=False) != json.dumps(before, ensure_ascii=False)
