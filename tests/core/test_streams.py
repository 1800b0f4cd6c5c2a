"""One contract for both event-stream implementations (memory, and Redis Streams when set)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from parmenid.core.streams import EventStreams, MemoryStreams, RedisStreams
from tests.conftest import BACKENDS, REDIS_URL


@pytest.fixture(params=["memory", *(["redis"] if "postgres" in BACKENDS else [])])
async def streams(request: pytest.FixtureRequest) -> AsyncIterator[EventStreams]:
    implementation: EventStreams = (
        RedisStreams(str(REDIS_URL)) if request.param == "redis" else MemoryStreams()
    )
    yield implementation
    await implementation.close()


def _name() -> str:
    return f"test:{os.getpid()}:{uuid.uuid4().hex}"


async def test_events_come_back_in_order_after_an_id(streams: EventStreams) -> None:
    stream = _name()
    ids = [await streams.publish(stream, {"n": n, "text": "привет"}) for n in range(5)]
    assert len(set(ids)) == 5
    everything = await streams.read(stream)
    assert [e.data["n"] for e in everything] == [0, 1, 2, 3, 4]
    assert everything[0].data["text"] == "привет"
    resumed = await streams.read(stream, after=ids[2])
    assert [e.id for e in resumed] == ids[3:]
    assert await streams.read(stream, after=ids[-1]) == []
    assert await streams.read(_name()) == []


async def test_a_blocking_read_wakes_on_publish(streams: EventStreams) -> None:
    stream = _name()
    last = await streams.publish(stream, {"n": 0})
    reader = asyncio.create_task(streams.read(stream, after=last, block=5))
    await asyncio.sleep(0.05)
    await streams.publish(stream, {"n": 1})
    events = await asyncio.wait_for(reader, 2)
    assert [e.data["n"] for e in events] == [1]


async def test_a_blocking_read_times_out_empty(streams: EventStreams) -> None:
    assert await streams.read(_name(), block=0.1) == []


async def test_a_bad_id_is_refused(streams: EventStreams) -> None:
    with pytest.raises(ValueError, match="stream id"):
        await streams.read(_name(), after="not-an-id")
