"""The whole PresentAI flow against a real uvicorn server, over HTTP and the WebSocket:
register → organization → project → presentation → upload a sample PDF as its source → outline
→ slides → ready, as the UI flow of the contract draws it.

It checks every progress event and its fields, resuming after a disconnect with
`last_event_id` (each event once, none missing), and that every bullet's attribution points at
an indexed chunk whose text contains it. It runs with the local extractive engine, and with the
real Anthropic SDK against the fake LLM server (slower calls, so the disconnect is mid-job).

The app and its in-process job worker share a runtime built and closed inside the server's
event loop; the chunks are read afterwards with the server's local index closed.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from parmenid.config import Settings
from parmenid.knowledge.index import KnowledgeIndex
from parmenid.presentai.app import create_app
from parmenid.runtime import Runtime
from tests.conftest import REDIS_URL, truncate_all
from tests.fakes.deck_model import deck_reply
from tests.fakes.llm_server import FakeLLM, Received
from tests.fakes.server import ServerThread
from tests.helpers import PASSWORD
from tests.presentai.generation_support import SAMPLES

API = "/api/v1"
SLIDES = 5


class PresentAIServer(ServerThread):
    """The PresentAI app with a job worker, on a real loopback socket."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = Runtime.build(settings)
        super().__init__(create_app(self.runtime))
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        worker = self.runtime.worker()
        jobs = asyncio.create_task(worker.run())
        try:
            await self.server.serve()
        finally:
            worker.stop()
            await jobs
            await self.runtime.close()


def _five_items(received: Received) -> dict[str, Any]:
    return deck_reply(received, outline_items=SLIDES)


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(structured=_five_items, latency_s=0.15)
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture(params=["local", "anthropic-sdk"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_overrides(engine: str, fake_llm: tuple[FakeLLM, str], backend: str) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "rate_limit": {"enabled": False},
        "presentai": {"slide_concurrency": 2},
    }
    if backend == "postgres":  # production's parts: Redis Streams and the Redis wake-ups
        overrides["redis_url"] = REDIS_URL
    if engine == "anthropic-sdk":
        overrides["llm"] = {
            "fallback_chain": ["anthropic"],
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": fake_llm[1],
            "retry_attempts": 1,
        }
    return overrides


@pytest.fixture
async def clean(settings: Settings, backend: str) -> Settings:
    """The settings, with PostgreSQL emptied first (it outlives each test)."""
    if backend == "postgres":
        setup = Runtime.build(settings)
        try:
            await truncate_all(setup)
        finally:
            await setup.close()
    return settings


class Socket:
    """A WebSocket client that reads JSON frames with a deadline."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def send(self, **message: Any) -> None:
        await self.connection.send(json.dumps(message))

    async def frame(self, timeout: float = 20.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def until(self, kind: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Frames up to and including the first of type `kind`."""
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not frames or frames[-1]["type"] != kind:
                frames.append(await self.frame(timeout))
        return frames


def _ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


async def _json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_register_to_ready_over_http_and_websocket(clean: Settings, engine: str) -> None:
    with PresentAIServer(clean) as running:
        bullets, organization_id, document_id = await _flow(running.url)
    # the server (and its lock on the local index) is gone: read the chunks the bullets cite
    index = KnowledgeIndex(
        path=str(clean.data_dir / "qdrant"), collection=clean.knowledge.collection
    )
    try:
        cited = {b["attribution"]["chunk_id"] for b in bullets}
        chunks = {hit.chunk_id: hit for hit in await index.fetch(organization_id, sorted(cited))}
    finally:
        await index.close()
    assert set(chunks) == cited
    for bullet in bullets:
        attribution = bullet["attribution"]
        chunk = chunks[attribution["chunk_id"]]
        assert chunk.document_id == attribution["document_id"] == document_id
        assert attribution["location"]["page"] is not None  # a PDF: cited by page
        words = set(re.findall(r"\w+", bullet["text"].rstrip("…")))
        assert words <= set(re.findall(r"\w+", chunk.text)), (bullet["text"], chunk.text[:200])
        if engine == "local":
            assert " ".join(bullet["text"].rstrip("…").split()[:2]) in " ".join(chunk.text.split())


async def _flow(server: str) -> tuple[list[dict[str, Any]], str, str]:
    """The steps a person takes; the bullets of the ready deck, the organization, the source."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        await _json(
            await http.post(
                f"{API}/auth/register", json={"email": "e2e@x.io", "password": PASSWORD}
            ),
            201,
        )
        tokens = await _json(
            await http.post(f"{API}/auth/login", json={"email": "e2e@x.io", "password": PASSWORD}),
            200,
        )
        token = tokens["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        org = await _json(
            await http.post(f"{API}/organizations", json={"name": "E2E"}, headers=auth), 201
        )
        project = await _json(
            await http.post(
                f"{API}/projects", json={"organization_id": org["id"], "name": "Q4"}, headers=auth
            ),
            201,
        )
        deck = await _json(
            await http.post(
                f"{API}/presentations",
                json={
                    "project_id": project["id"],
                    "title": "Python code style",
                    "slide_count": SLIDES,
                    "language": "en",
                    "audience": "engineers",
                },
                headers=auth,
            ),
            201,
        )
        assert deck["status"] == "draft"
        pdf = (SAMPLES / "pep-0008.pdf").read_bytes()
        source = await _json(
            await http.post(
                f"{API}/presentations/{deck['id']}/sources/upload",
                files={"file": ("pep-0008.pdf", pdf, "application/pdf")},
                headers=auth,
            ),
            201,
        )
        document_id = source["document_id"]

        async with websockets.connect(f"{_ws_url(server)}?token={token}") as raw:
            ws = Socket(raw)
            assert (await ws.frame())["type"] == "authenticated"
            # indexing: the source's ingestion_completed event
            await ws.send(type="subscribe", job_id=document_id)
            frames = await ws.until("ingestion_completed")
            assert frames[0]["type"] == "subscribed"
            indexed = frames[-1]
            assert indexed["ingestion_status"] == "indexed", indexed
            assert indexed["source_document_id"] == document_id
            assert indexed["chunks_created"] > 10

            started = time.time()
            job = await _json(
                await http.post(f"{API}/presentations/{deck['id']}/generate/outline", headers=auth),
                202,
            )
            await ws.send(type="subscribe", job_id=job["job_id"])
            frames = await ws.until("outline_generated")
            outlined = frames[-1]
            assert set(outlined) == {
                "type",
                "job_id",
                "presentation_id",
                "outline",
                "seq",
                "event_id",
            }
            assert (outlined["job_id"], outlined["presentation_id"]) == (job["job_id"], deck["id"])
            assert 1 <= len(outlined["outline"]) <= SLIDES
            for number, item in enumerate(outlined["outline"], 1):
                assert item["slide_number"] == number and item["title"] and item["key_points"]

            slides_job = await _json(
                await http.post(f"{API}/presentations/{deck['id']}/generate/slides", headers=auth),
                202,
            )
            await ws.send(type="subscribe", job_id=slides_job["job_id"])
            first = await ws.until("slide_completed")
            assert first[0]["type"] == "subscribed"
            seen = [first[-1]]
        # disconnected mid-job; reconnect signing in with the first message, resume
        async with websockets.connect(_ws_url(server)) as raw:
            ws = Socket(raw)
            await ws.send(type="auth", token=token)
            assert (await ws.frame())["type"] == "authenticated"
            await ws.send(
                type="subscribe", job_id=slides_job["job_id"], last_event_id=seen[-1]["event_id"]
            )
            frames = await ws.until("generation_done")
            assert frames[0]["type"] == "subscribed"
            seen += frames[1:]
            await ws.send(type="ping")
            assert (await ws.frame())["type"] == "pong"

        items = len(outlined["outline"])
        assert [e["type"] for e in seen] == ["slide_completed"] * items + ["generation_done"]
        assert [e["seq"] for e in seen] == list(range(1, items + 2))  # none missing, none twice
        assert len({e["event_id"] for e in seen}) == len(seen)
        completed = seen[:-1]
        assert sorted(e["slide_number"] for e in completed) == list(range(1, items + 1))
        assert [e["progress_pct"] for e in completed] == sorted(
            e["progress_pct"] for e in completed
        )
        assert completed[-1]["progress_pct"] == 100
        for event in completed:
            assert set(event) == {
                "type",
                "job_id",
                "slide_id",
                "slide_number",
                "slide_title",
                "progress_pct",
                "timestamp",
                "seq",
                "event_id",
            }
            assert started * 1000 - 5000 <= event["timestamp"] <= time.time() * 1000 + 5000
        done = seen[-1]
        assert set(done) == {
            "type",
            "job_id",
            "presentation_id",
            "total_slides",
            "total_duration_ms",
            "seq",
            "event_id",
        }
        assert done["total_slides"] == items and done["total_duration_ms"] > 0

        ready = await _json(await http.get(f"{API}/presentations/{deck['id']}", headers=auth), 200)
        assert ready["status"] == "ready"
        assert [s["slide_number"] for s in ready["slides"]] == list(range(1, items + 1))
        bullets = [b for s in ready["slides"] for b in s["bullets"]]
        assert bullets and all(s["status"] == "ready" for s in ready["slides"])
        searched = await _json(
            await http.get(
                f"{API}/presentations",
                params={"organization_id": org["id"], "q": bullets[0]["text"][:20]},
                headers=auth,
            ),
            200,
        )
        assert [p["id"] for p in searched["items"]] == [deck["id"]]

    return bullets, org["id"], document_id
