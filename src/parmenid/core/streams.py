"""Append-only event streams with ids, so a client can resume from the last id it saw.

Two implementations with one contract: in-process memory (the embedded default) and Redis Streams
(`XADD` / `XREAD`), for several processes. Ids are Redis-style `"<ms>-<seq>"` strings in both, and
`read(stream, after=id)` returns the events after that id in order; with `block` it waits for the
next ones. Streams are capped (`maxlen`) and expire `ttl` seconds after their last event.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: str
    data: dict[str, Any]


class EventStreams(Protocol):
    async def publish(self, stream: str, data: dict[str, Any]) -> str: ...

    async def read(
        self, stream: str, after: str = "0-0", *, count: int = 100, block: float | None = None
    ) -> list[StreamEvent]: ...

    async def close(self) -> None: ...


def _parse_id(value: str) -> tuple[int, int]:
    try:
        ms, _, seq = value.partition("-")
        return int(ms), int(seq or 0)
    except ValueError as exc:
        raise ValueError(f"not a stream id: {value!r}") from exc


class MemoryStreams:
    """Streams of one process. `read(block=...)` wakes as soon as an event is published."""

    def __init__(self, maxlen: int = 10_000, ttl: float = 86_400) -> None:
        self.maxlen = maxlen
        self.ttl = ttl
        self._events: dict[str, deque[StreamEvent]] = {}
        self._touched: dict[str, float] = {}
        self._last: tuple[int, int] = (0, 0)
        self._changed = asyncio.Condition()

    def _next_id(self) -> str:
        now = int(time.time() * 1000)
        ms, seq = self._last
        self._last = (now, 0) if now > ms else (ms, seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    async def publish(self, stream: str, data: dict[str, Any]) -> str:
        self._expire()
        event = StreamEvent(self._next_id(), data)
        self._events.setdefault(stream, deque(maxlen=self.maxlen)).append(event)
        self._touched[stream] = time.monotonic()
        async with self._changed:
            self._changed.notify_all()
        return event.id

    async def read(
        self, stream: str, after: str = "0-0", *, count: int = 100, block: float | None = None
    ) -> list[StreamEvent]:
        position = _parse_id(after)
        found = self._after(stream, position, count)
        if found or not block:
            return found
        deadline = time.monotonic() + block
        async with self._changed:
            while not found:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    break
                found = self._after(stream, position, count)
        return found

    def _after(self, stream: str, position: tuple[int, int], count: int) -> list[StreamEvent]:
        events = self._events.get(stream, ())
        return [event for event in events if _parse_id(event.id) > position][:count]

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.ttl
        for stream in [s for s, at in self._touched.items() if at < cutoff]:
            self._events.pop(stream, None)
            self._touched.pop(stream, None)

    async def close(self) -> None:
        return None


class RedisStreams:
    """Redis Streams: `XADD stream MAXLEN ~ n * data` and `XREAD [BLOCK ms] STREAMS stream id`."""

    def __init__(self, url: str, maxlen: int = 10_000, ttl: int = 86_400) -> None:
        from redis.asyncio import Redis

        # XREAD BLOCK waits on the socket: reads must be allowed to last longer than a block
        # (redis-py's default socket timeout would cut them), but not for ever.
        self.client = Redis.from_url(url, socket_timeout=60, socket_connect_timeout=5)
        self.maxlen = maxlen
        self.ttl = ttl

    async def publish(self, stream: str, data: dict[str, Any]) -> str:
        payload = json.dumps(data, ensure_ascii=False, default=str)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {"data": payload}, maxlen=self.maxlen, approximate=True)
            pipe.expire(stream, self.ttl)
            event_id, _ = await pipe.execute()
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    async def read(
        self, stream: str, after: str = "0-0", *, count: int = 100, block: float | None = None
    ) -> list[StreamEvent]:
        """`block` (seconds, at most a minute) waits for new events; `BLOCK 0` (for ever) is
        never sent: a positive block below a millisecond waits one millisecond."""
        _parse_id(after)
        answer: Any = await self.client.xread(
            {stream: after}, count=count, block=max(1, int(block * 1000)) if block else None
        )
        events: list[StreamEvent] = []
        for _, entries in answer or []:
            for raw_id, fields in entries:
                event_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                raw = fields.get(b"data") or fields.get("data") or b"{}"
                events.append(StreamEvent(event_id, json.loads(raw)))
        return events

    async def close(self) -> None:
        await self.client.aclose()
