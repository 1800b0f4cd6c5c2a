"""Generation as jobs, in process: outline, slides with attributions, events, failures."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parmenid.presentai.generation.progress import stream_of
from parmenid.presentai.slides.models import SlideVersion
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.helpers import error_of
from tests.presentai.generation_support import API, deck_with_source


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


async def _events(runtime: Runtime, job_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await runtime.streams.read(stream_of(job_id), count=1000)]


async def test_outline_then_slides_with_grounded_bullets(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime, slides=5)
    started = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    await run_jobs(runtime)
    events = await _events(runtime, job_id)
    assert [e["type"] for e in events] == ["outline_generated"]
    outline = events[0]["outline"]
    assert 1 <= len(outline) <= 5
    for item in outline:
        assert item["title"] and item["key_points"]
        for point in item["key_points"]:
            assert point["attribution"]["document_id"] == deck.document_id
    status = await presentai_client.get(
        f"{API}/presentations/{deck.presentation_id}/jobs/{job_id}", headers=deck.headers
    )
    assert status.json()["status"] == "succeeded"

    started = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/slides", headers=deck.headers
    )
    assert started.status_code == 202, started.text
    slides_job = started.json()["job_id"]
    await run_jobs(runtime)
    events = await _events(runtime, slides_job)
    kinds = [e["type"] for e in events]
    assert kinds == ["slide_completed"] * len(outline) + ["generation_done"], kinds
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["total_slides"] == len(outline)
    assert sorted(e["progress_pct"] for e in events[:-1])[-1] == 100
    chunk_ids: list[str] = []
    async with runtime.db.session() as session:
        versions = (await session.scalars(select(SlideVersion))).all()
    assert {v.reason for v in versions} == {"generated"}
    for version in versions:
        for bullet in version.content["bullets"]:
            chunk_ids.append(bullet["attribution"]["chunk_id"])
    chunks = {
        hit.chunk_id: hit.text
        for hit in await runtime.index.fetch(deck.organization_id, list(set(chunk_ids)))
    }
    for version in versions:
        for bullet in version.content["bullets"]:
            source = " ".join(chunks[bullet["attribution"]["chunk_id"]].split())
            words = [w for w in bullet["text"].rstrip("…").split() if w.isalpha()]
            assert all(w in source for w in words), (bullet["text"], source[:300])


async def test_slides_before_outline_and_without_sources(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(presentai_client, runtime)
    refused = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/slides", headers=deck.headers
    )
    error_of(refused, 409, "conflict")
    first = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    assert first.status_code == 202
    twice = await presentai_client.post(
        f"{API}/presentations/{deck.presentation_id}/generate/outline", headers=deck.headers
    )
    error_of(twice, 409, "conflict")
    assert uuid.UUID(first.json()["job_id"])
