"""The progress WebSocket `/ws` end to end: the PresentAI app on a real uvicorn socket (in the
test's event loop, so the test publishes to the same streams and database), read with the
`websockets` client as a browser would.

Runs on both backends: memory streams (embedded), and Redis Streams when
`PARMENID_TEST_REDIS_URL` is set. The Redis-restart test starts a throwaway `redis-server` of its
own (never the shared one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import delete, select, update
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parmenid.core.streams import EventStreams, RedisStreams
from parmenid.identity.models import AuthSession, Membership, Organization, Role, User
from parmenid.knowledge import ingestion
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.app import create_app
from parmenid.presentai.generation import progress as progress_module
from parmenid.presentai.generation.models import GenerationJob, GenerationStatus
from parmenid.presentai.generation.progress import Progress, stream_of
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project
from parmenid.presentai.realtime import relay as relay_module
from parmenid.runtime import Runtime
from tests.conftest import REDIS_URL
from tests.fakes.server import free_port
from tests.helpers import login, register

WAIT = 5.0  # the longest any expected frame may take


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "rate_limit": {"enabled": False},
        "presentai": {"ws_auth_timeout_seconds": 2.0, "ws_state_check_seconds": 0.2},
    }


class _InLoopServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@pytest.fixture
async def streams(runtime: Runtime, backend: str) -> AsyncIterator[EventStreams]:
    """The runtime's streams: Redis Streams on the Redis-backed run, memory otherwise."""
    if backend == "postgres" and REDIS_URL:
        redis_streams = RedisStreams(REDIS_URL)
        runtime.streams = redis_streams
        yield redis_streams
        await redis_streams.close()
    else:
        yield runtime.streams


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[tuple[FastAPI, str]]:
    """One server for the module; each test points its app at the test's own runtime."""
    app = create_app()
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws_ping_interval=None,
    )
    running = _InLoopServer(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    yield app, f"ws://127.0.0.1:{port}/ws"
    running.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def ws_url(
    server: tuple[FastAPI, str], runtime: Runtime, streams: EventStreams
) -> AsyncIterator[str]:
    app, url = server
    app.state.runtime = runtime  # what the endpoint reads: settings, database, streams
    yield url
    del app.state.runtime


@dataclass
class Person:
    token: str
    user_id: uuid.UUID
    organization_id: uuid.UUID  # their personal organization (owner)


async def person(runtime: Runtime, name: str) -> Person:
    """A user with a personal organization and a signed-in session (no password hashing: the
    token is issued for a real session row, so the socket checks it as it checks any other)."""
    async with runtime.db.session() as session:
        user = User(email=f"{name}@ws.example", password_hash="-", status="active")
        organization = Organization(name=name, slug=f"ws-{name}-{uuid.uuid4().hex[:8]}")
        session.add_all([user, organization])
        await session.flush()
        session.add(Membership(organization_id=organization.id, user_id=user.id, role=Role.OWNER))
        signed_in = AuthSession(user_id=user.id, audience=runtime.presentai_audience.name)
        session.add(signed_in)
        await session.flush()
    token = runtime.identity.tokens.issue(
        user_id=user.id,
        session_id=signed_in.id,
        token_version=0,
        audience=runtime.presentai_audience.name,
        ttl_seconds=900,
    )
    return Person(token, user.id, organization.id)


@pytest.fixture
async def people(runtime: Runtime) -> dict[str, Person]:
    """The owner of an organization, a viewer in it, and an outsider with one of their own."""
    found = {name: await person(runtime, name) for name in ("owner", "viewer", "outsider")}
    async with runtime.db.session() as session:
        session.add(
            Membership(
                organization_id=found["owner"].organization_id,
                user_id=found["viewer"].user_id,
                role=Role.VIEWER,
            )
        )
    return found


async def new_job(
    runtime: Runtime,
    organization_id: uuid.UUID,
    status: GenerationStatus = GenerationStatus.RUNNING,
) -> uuid.UUID:
    async with runtime.db.session() as session:
        project = Project(organization_id=organization_id, name="P", search_text="p")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=organization_id, project_id=project.id, title="Deck"
        )
        session.add(presentation)
        await session.flush()
        job = GenerationJob(
            organization_id=organization_id,
            presentation_id=presentation.id,
            kind="slides",
            status=status.value,
        )
        session.add(job)
        await session.flush()
        return job.id


async def set_job(runtime: Runtime, job_id: uuid.UUID, **values: Any) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(GenerationJob).where(GenerationJob.id == job_id).values(values)
        )


def slide(job_id: uuid.UUID, number: int) -> dict[str, Any]:
    return {
        "type": "slide_completed",
        "job_id": str(job_id),
        "slide_id": str(uuid.uuid4()),
        "slide_number": number,
        "slide_title": f"Slide {number}",
        "progress_pct": number * 10,
        "timestamp": 1_700_000_000_000 + number,
    }


async def publish(runtime: Runtime, job_id: uuid.UUID, numbers: range) -> list[str]:
    """Publish slide events the way a job does (each counted on the row, then sent); their
    stream ids."""
    async with runtime.db.session() as session:
        job = await session.get(GenerationJob, job_id)
        assert job is not None
        published = job.events_published
    progress = Progress(runtime.db, runtime.streams, job_id, published)
    for number in numbers:
        await progress.publish(slide(job_id, number))
    stored = await runtime.streams.read(stream_of(job_id), count=10_000)
    return [event.id for event in stored[-len(numbers) :]]


class Client:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, **message: Any) -> None:
        await self.connection.send(json.dumps(message))

    async def frame(self, timeout: float = WAIT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def frames(self, count: int) -> list[dict[str, Any]]:
        return [await self.frame() for _ in range(count)]

    async def silent(self, for_seconds: float = 0.25) -> None:
        """Nothing arrives for a while (a ping answered proves the connection is alive)."""
        with pytest.raises(TimeoutError):
            await self.frame(timeout=for_seconds)

    async def closed(self) -> tuple[int | None, str]:
        """Read until the server closes; its close code and reason."""
        try:
            while True:
                await self.frame()
        except ConnectionClosed as closed:
            received = closed.rcvd
        return (received.code, received.reason) if received else (None, "")

    async def subscribe(self, job_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
        await self.send(type="subscribe", job_id=str(job_id), **extra)
        return await self.frame()


@contextlib.asynccontextmanager
async def client(url: str, token: str | None = None, **options: Any) -> AsyncIterator[Client]:
    target = f"{url}?token={token}" if token else url
    async with connect(target, proxy=None, open_timeout=WAIT, **options) as connection:
        yield Client(connection)


@contextlib.asynccontextmanager
async def signed_in(url: str, person: Person, **options: Any) -> AsyncIterator[Client]:
    async with client(url, person.token, **options) as ws:
        assert await ws.frame() == {"type": "authenticated", "user_id": str(person.user_id)}
        yield ws


# --- signing in ---------------------------------------------------------------------------


async def test_token_in_the_query(ws_url: str, people: dict[str, Person]) -> None:
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.send(type="ping")
        assert await ws.frame() == {"type": "pong"}


async def test_token_in_the_first_message(
    ws_url: str, presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A token from the sign-in endpoint, sent as the first message."""
    await register(presentai_client, "signed-in@ws.example")
    token = (await login(presentai_client, "signed-in@ws.example"))["access_token"]
    async with runtime.db.session() as session:
        user_id = await session.scalar(select(User.id).where(User.email == "signed-in@ws.example"))
    async with client(ws_url) as ws:
        await ws.send(type="auth", token=token)
        assert await ws.frame() == {"type": "authenticated", "user_id": str(user_id)}
        await ws.send(type="ping")
        assert await ws.frame() == {"type": "pong"}


@pytest.mark.parametrize(
    "first_message",
    [
        None,  # a bad token in the query
        {"type": "auth", "token": "not-a-jwt"},
        {"type": "subscribe", "job_id": str(uuid.uuid4())},
        "not json",
    ],
)
async def test_bad_credentials_get_an_error_frame_then_4401(
    ws_url: str, people: dict[str, Person], first_message: Any
) -> None:
    async with client(ws_url, "bad.token.here" if first_message is None else None) as ws:
        if first_message is not None:
            raw = first_message if isinstance(first_message, str) else json.dumps(first_message)
            await ws.connection.send(raw)
        frame = await ws.frame()
        assert frame["type"] == "error"
        assert frame["error"] == "unauthorized"
        assert frame["message"]
        assert (await ws.closed())[0] == 4401


async def test_an_expired_token_is_refused(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    tokens = runtime.identity.tokens
    fresh = tokens.decode(people["owner"].token, audience=runtime.presentai_audience.name)
    expired = tokens.issue(
        user_id=fresh.user_id,
        session_id=fresh.session_id,
        token_version=fresh.token_version,
        audience=runtime.presentai_audience.name,
        ttl_seconds=-60,
    )
    async with client(ws_url, expired) as ws:
        assert (await ws.frame())["error"] == "unauthorized"
        assert (await ws.closed())[0] == 4401


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": False}, "presentai": {"ws_auth_timeout_seconds": 0.3}}],
)
async def test_no_auth_message_in_time_closes_with_4408(ws_url: str) -> None:
    async with client(ws_url) as ws:
        frame = await ws.frame()
        assert (frame["type"], frame["error"]) == ("error", "unauthorized")
        assert (await ws.closed())[0] == 4408


async def test_the_token_is_kept_out_of_the_server_log(
    ws_url: str, people: dict[str, Person], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        async with signed_in(ws_url, people["owner"]):
            pass
    lines = [record.getMessage() for record in caplog.records if "WebSocket" in record.getMessage()]
    assert lines, "the handshake was not logged"
    assert all(people["owner"].token not in line for line in lines)
    assert any("token=[redacted]" in line for line in lines)


# --- subscribing ---------------------------------------------------------------------------


async def test_replay_then_live_events_in_order(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    await set_job(runtime, job_id, progress_pct=20)
    early = await publish(runtime, job_id, range(1, 3))
    async with signed_in(ws_url, people["owner"]) as ws:
        assert await ws.subscribe(job_id) == {
            "type": "subscribed",
            "job_id": str(job_id),
            "kind": "generation",
            "status": "running",
            "progress_pct": 20,
            "events_published": 2,
        }
        replayed = await ws.frames(2)
        assert [f["event_id"] for f in replayed] == early
        assert replayed[0] == {**slide(job_id, 1), "seq": 1, "event_id": early[0]} | {
            "slide_id": replayed[0]["slide_id"]
        }
        late = await publish(runtime, job_id, range(3, 5))
        live = await ws.frames(2)
        assert [f["event_id"] for f in live] == late
        assert [f["seq"] for f in replayed + live] == [1, 2, 3, 4]
        assert [f["slide_number"] for f in replayed + live] == [1, 2, 3, 4]
        await ws.silent()


async def test_resume_with_last_event_id_gets_exactly_the_missed_events(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    ids = await publish(runtime, job_id, range(1, 6))
    async with signed_in(ws_url, people["owner"]) as ws:
        assert (await ws.subscribe(job_id, last_event_id=ids[1]))["type"] == "subscribed"
        missed = await ws.frames(3)
        assert [f["event_id"] for f in missed] == ids[2:]
        assert [f["seq"] for f in missed] == [3, 4, 5]
        await ws.silent()
        more = await publish(runtime, job_id, range(6, 7))
        assert (await ws.frame())["event_id"] == more[0]


async def test_resume_at_the_last_event_gets_only_new_ones(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    ids = await publish(runtime, job_id, range(1, 4))
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id, last_event_id=ids[-1])
        await ws.silent()
        new = await publish(runtime, job_id, range(4, 5))
        frame = await ws.frame()
        assert (frame["event_id"], frame["seq"]) == (new[0], 4)


async def test_another_organizations_job_is_not_found(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    theirs = await new_job(runtime, people["outsider"].organization_id)
    await publish(runtime, theirs, range(1, 3))
    async with signed_in(ws_url, people["owner"]) as ws:
        for job_id in (theirs, uuid.uuid4()):  # someone else's and nobody's: the same answer
            frame = await ws.subscribe(job_id)
            assert frame == {
                "type": "error",
                "error": "not_found",
                "message": frame["message"],
                "job_id": str(job_id),
            }
        await ws.silent()


async def test_a_viewer_of_the_organization_may_subscribe(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    ids = await publish(runtime, job_id, range(1, 2))
    async with signed_in(ws_url, people["viewer"]) as ws:
        assert (await ws.subscribe(job_id))["type"] == "subscribed"
        assert (await ws.frame())["event_id"] == ids[0]


async def test_a_member_who_leaves_stops_receiving(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    async with signed_in(ws_url, people["viewer"]) as ws:
        assert (await ws.subscribe(job_id))["type"] == "subscribed"
        async with runtime.db.session() as session:
            await session.execute(
                delete(Membership).where(Membership.user_id == people["viewer"].user_id)
            )
        frame = await ws.frame()  # at the next state check (0.2 s here)
        assert (frame["error"], frame["job_id"]) == ("not_found", str(job_id))
        await publish(runtime, job_id, range(1, 2))
        await ws.silent()


async def test_unsubscribe_stops_events(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id)
        await publish(runtime, job_id, range(1, 2))
        assert (await ws.frame())["seq"] == 1
        await ws.send(type="unsubscribe", job_id=str(job_id))
        assert await ws.frame() == {"type": "unsubscribed", "job_id": str(job_id)}
        await publish(runtime, job_id, range(2, 3))
        await ws.silent()
        await ws.send(type="ping")
        assert await ws.frame() == {"type": "pong"}


async def test_ingestion_events_carry_the_job_id(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    async with runtime.db.session() as session:
        document = SourceDocument(
            organization_id=people["owner"].organization_id,
            filename="x.txt",
            sha256="0" * 64,
            storage_key="documents/x",
        )
        session.add(document)
        await session.flush()
        document_id = document.id
    async with signed_in(ws_url, people["owner"]) as ws:
        assert await ws.subscribe(document_id) == {
            "type": "subscribed",
            "job_id": str(document_id),
            "kind": "ingestion",
            "status": "pending",
        }
        event = {
            "type": "ingestion_completed",
            "source_document_id": str(document_id),
            "ingestion_status": "indexed",
            "chunks_created": 3,
        }
        event_id = await runtime.streams.publish(ingestion.stream_of(document_id), event)
        assert await ws.frame() == {**event, "event_id": event_id, "job_id": str(document_id)}


async def test_malformed_messages_get_bad_request_and_the_connection_stays_open(
    ws_url: str, people: dict[str, Person]
) -> None:
    job = str(uuid.uuid4())
    async with signed_in(ws_url, people["owner"]) as ws:
        for raw in (
            "{not json",
            "[1, 2]",
            json.dumps({"type": "dance"}),
            json.dumps({"no": "type"}),
            json.dumps({"type": "subscribe"}),
            json.dumps({"type": "subscribe", "job_id": "job-1"}),
            json.dumps({"type": "subscribe", "job_id": job, "last_event_id": "$"}),
            json.dumps({"type": "subscribe", "job_id": job, "last_event_id": "9" * 21 + "-0"}),
            json.dumps({"type": "auth", "token": people["owner"].token}),
        ):
            await ws.connection.send(raw)
            frame = await ws.frame()
            assert (frame["type"], frame["error"]) == ("error", "bad_request"), raw
            assert frame["message"]
        await ws.send(type="ping")
        assert await ws.frame() == {"type": "pong"}


async def test_an_oversized_message_closes_with_1009(
    ws_url: str, people: dict[str, Person]
) -> None:
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.send(type="ping", padding="x" * 5000)
        frame = await ws.frame()
        assert (frame["type"], frame["error"]) == ("error", "bad_request")
        assert (await ws.closed())[0] == 1009


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": True}, "presentai": {"ws_messages_per_minute": 10}}],
)
async def test_messages_are_rate_limited_per_user(ws_url: str, people: dict[str, Person]) -> None:
    async with signed_in(ws_url, people["owner"]) as ws:
        for _ in range(10):
            await ws.send(type="ping")
            assert await ws.frame() == {"type": "pong"}
        await ws.send(type="ping")
        refused = await ws.frame()
        assert (refused["type"], refused["error"]) == ("error", "rate_limit_exceeded")
        assert refused["retry_after"] >= 1
    async with signed_in(ws_url, people["owner"]) as ws:  # per user, not per connection
        await ws.send(type="ping")
        assert (await ws.frame())["error"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": False}, "presentai": {"ws_max_subscriptions": 2}}],
)
async def test_subscriptions_per_connection_are_capped(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    jobs = [await new_job(runtime, people["owner"].organization_id) for _ in range(3)]
    async with signed_in(ws_url, people["owner"]) as ws:
        assert (await ws.subscribe(jobs[0]))["type"] == "subscribed"
        assert (await ws.subscribe(jobs[0]))["type"] == "subscribed"  # again: replaces
        assert (await ws.subscribe(jobs[1]))["type"] == "subscribed"
        refused = await ws.subscribe(jobs[2])
        assert (refused["error"], refused["job_id"]) == ("validation_error", str(jobs[2]))
        await ws.send(type="unsubscribe", job_id=str(jobs[0]))
        assert (await ws.frame())["type"] == "unsubscribed"
        assert (await ws.subscribe(jobs[2]))["type"] == "subscribed"


@pytest.mark.parametrize(
    "settings_overrides",
    [{"rate_limit": {"enabled": False}, "presentai": {"ws_idle_timeout_seconds": 0.4}}],
)
async def test_an_idle_connection_is_closed(ws_url: str, people: dict[str, Person]) -> None:
    async with signed_in(ws_url, people["owner"]) as ws:
        for _ in range(2):  # pings keep it open
            await asyncio.sleep(0.25)
            await ws.send(type="ping")
            assert await ws.frame() == {"type": "pong"}
        assert (await ws.closed())[0] == 4408


async def test_disconnect_cancels_the_readers(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)

    def readers() -> int:
        return sum(1 for t in asyncio.all_tasks() if t.get_name().startswith("ws-relay:"))

    before = readers()
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id)
        assert readers() == before + 1
    for _ in range(100):
        if readers() == before:
            break
        await asyncio.sleep(0.02)
    assert readers() == before


# --- gaps are never silent -----------------------------------------------------------------


async def test_an_unknown_last_event_id_requires_a_resync(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    ids = await publish(runtime, job_id, range(1, 3))
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id, last_event_id="1-0")  # not an id of this stream
        assert await ws.frame() == {
            "type": "resync_required",
            "job_id": str(job_id),
            "reason": "last_event_id_not_found",
        }
        assert [f["event_id"] for f in await ws.frames(2)] == ids  # what the stream still has
        await ws.silent()
        live = await publish(runtime, job_id, range(3, 4))
        assert (await ws.frame())["event_id"] == live[0]


async def test_an_expired_stream_requires_a_resync(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    """The row says 3 events were published; the stream has none of them (it expired)."""
    job_id = await new_job(runtime, people["owner"].organization_id, GenerationStatus.SUCCEEDED)
    await set_job(runtime, job_id, events_published=3, progress_pct=100)
    async with signed_in(ws_url, people["owner"]) as ws:
        subscribed = await ws.subscribe(job_id)
        assert (subscribed["status"], subscribed["events_published"]) == ("succeeded", 3)
        frame = await ws.frame()
        assert (frame["type"], frame["reason"]) == ("resync_required", "events_unavailable")
        await ws.silent()


async def test_a_seq_gap_requires_a_resync(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    job_id = await new_job(runtime, people["owner"].organization_id)
    await publish(runtime, job_id, range(1, 3))
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id)
        assert [f["seq"] for f in await ws.frames(2)] == [1, 2]
        # Event 3 is counted on the row but never reaches the stream (Redis lost it).
        await set_job(runtime, job_id, events_published=3)
        await publish(runtime, job_id, range(4, 5))
        assert await ws.frame() == {
            "type": "resync_required",
            "job_id": str(job_id),
            "reason": "sequence_gap",
        }
        after = await ws.frame()
        assert (after["seq"], after["slide_number"]) == (4, 4)
        await publish(runtime, job_id, range(5, 6))
        assert (await ws.frame())["seq"] == 5  # in step again: no second resync
        await ws.silent()


async def test_a_lost_last_event_is_noticed_without_a_later_one(
    ws_url: str, people: dict[str, Person], runtime: Runtime
) -> None:
    """The job finished; its final event never reached the stream and nothing follows it."""
    job_id = await new_job(runtime, people["owner"].organization_id)
    await publish(runtime, job_id, range(1, 3))
    async with signed_in(ws_url, people["owner"]) as ws:
        await ws.subscribe(job_id)
        assert [f["seq"] for f in await ws.frames(2)] == [1, 2]
        await ws.silent(0.2)
        await set_job(runtime, job_id, events_published=3, status=GenerationStatus.SUCCEEDED)
        frame = await ws.frame()  # at the next state check (0.2 s here)
        assert (frame["type"], frame["reason"]) == ("resync_required", "events_unavailable")
        await ws.silent()


# --- slow clients and a Redis restart ------------------------------------------------------


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "rate_limit": {"enabled": False},
            "presentai": {"ws_send_queue_frames": 4, "ws_slow_client_seconds": 0.3},
        }
    ],
)
async def test_a_client_that_stops_reading_is_dropped(
    ws_url: str, people: dict[str, Person], runtime: Runtime, backend: str
) -> None:
    if backend != "embedded":
        pytest.skip("connection behaviour, not storage: runs once, on memory streams")
    job_id = await new_job(runtime, people["owner"].organization_id)
    stream = stream_of(job_id)
    padding = "x" * 20_000
    for number in range(800):  # ~16 MB: more than the socket buffers between us hold
        await runtime.streams.publish(
            stream, {"type": "slide_completed", "n": number, "p": padding}
        )
    options = {"max_queue": 1, "max_size": None, "compression": None}
    async with signed_in(ws_url, people["owner"], **options) as ws:
        await ws.send(type="subscribe", job_id=str(job_id))
        # Not reading: the server gives up after 0.3 s of a full queue and stops sending; its
        # close frame waits (up to 2 s) behind the unread data, so a client reading again sees it.
        await asyncio.sleep(1.0)
        received = 0
        try:
            while True:
                frame = await ws.frame()
                received += frame["type"] == "slide_completed"
        except ConnectionClosed as closed:
            closing = closed.rcvd
    assert received < 800
    assert closing is not None
    assert (closing.code, closing.reason) == (1013, "client too slow")


class ThrowawayRedis:
    """A redis-server of the test's own (no persistence) on a free port, to kill and restart."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self.command += ["--save", "", "--appendonly", "no"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        for _ in range(250):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Gone at once, with everything it held (it keeps nothing on disk)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: the Redis-restart test needs its own server")
    server = ThrowawayRedis(binary)
    yield server
    server.kill()


async def test_a_redis_restart_mid_job_is_never_a_silent_gap(
    ws_url: str,
    people: dict[str, Person],
    runtime: Runtime,
    redis_server: ThrowawayRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await redis_server.start()
    streams = RedisStreams(redis_server.url)
    # See the outage at once, rather than after redis-py's own retries (~3 s).
    streams.client.set_retry(Retry(NoBackoff(), 0))
    monkeypatch.setattr(runtime, "streams", streams)
    monkeypatch.setattr(relay_module, "RETRY_DELAYS", (0.05, 0.1))
    monkeypatch.setattr(progress_module, "PUBLISH_RETRIES", (0.05,))
    job_id = await new_job(runtime, people["owner"].organization_id)
    interrupted = {"type": "stream_interrupted", "job_id": str(job_id)}
    try:
        await publish(runtime, job_id, range(1, 3))
        async with signed_in(ws_url, people["owner"]) as ws:
            await ws.subscribe(job_id)
            assert [f["seq"] for f in await ws.frames(2)] == [1, 2]

            # A restart that loses nothing the client has not seen: it just goes on.
            redis_server.kill()
            assert await ws.frame() == interrupted
            await redis_server.start()
            await publish(runtime, job_id, range(3, 4))
            frame = await ws.frame()
            assert (frame["type"], frame["seq"]) == ("slide_completed", 3)

            # An event published while Redis is down is lost: the client is told so.
            redis_server.kill()
            assert await ws.frame() == interrupted
            progress = Progress(runtime.db, streams, job_id, 3)
            await progress.publish(slide(job_id, 4))  # lost (after its retries), counted as 4
            await redis_server.start()
            await progress.publish(slide(job_id, 5))
            resync, after = await ws.frames(2)
            assert (resync["type"], resync["job_id"]) == ("resync_required", str(job_id))
            assert resync["reason"] in ("sequence_gap", "events_unavailable")
            assert (after["type"], after["seq"]) == ("slide_completed", 5)
            await ws.silent()
    finally:
        await streams.close()
