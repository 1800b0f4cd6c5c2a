"""One subscription: a job's event stream relayed to one client with no gap it is not told of.

The relay reads the stream after the last id it delivered (first the client's
`last_event_id`, else the stream's start), so the replay of missed events and the live ones
that follow come without a gap or a duplicate. Each frame is the stored event plus its
`event_id` (and `job_id`, for events that do not carry one).

A gap is never silent. The relay sends `resync_required` (the client reloads the job's state
over REST, and keeps receiving events) when:
* `last_event_id` is not in the stream (the stream expired, was trimmed, or Redis lost it);
* an event's `seq` jumps (events were lost between the job and the stream);
* the job's row says more events were published than the stream holds: a job numbers its
  events one at a time and commits each number *before* sending the event, so when the row
  says N, events up to N-1 have been sent; if the stream ends below N-1 they were lost, and a
  finished job whose event N is still missing at the next check lost it. The row is read
  before the stream, and again every `check_every` seconds until the job has finished, so a
  lost last event is noticed even when no later event shows the gap.

When the stream cannot be read (Redis down), the relay sends `stream_interrupted` once, retries
with backoff, and on recovery goes on from the last delivered id, checking for a gap as above.
The periodic check also re-reads the caller's membership: a user removed from the organization
gets `not_found` and the subscription ends.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from parmenid.core.streams import EventStreams, StreamEvent
from parmenid.presentai.realtime.outbox import Outbox
from parmenid.presentai.realtime.protocol import error_frame
from parmenid.presentai.realtime.subscriptions import JobState, JobTarget

log = logging.getLogger("parmenid.realtime")

BATCH = 100
# One blocking read waits at most this long: well below the Redis client's socket timeout
# (5 s in redis-py), past which a quiet stream would look like a broken one.
MAX_BLOCK_SECONDS = 2.0
MIN_BLOCK_SECONDS = 0.01  # shorter is not worth a read (and Redis would round it to "forever")
# Waits between reads while the stream is down (the last one repeats), each with jitter so
# that many subscriptions do not hit a recovering Redis at the same instant.
RETRY_DELAYS: Sequence[float] = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
_MAX_PART = 2**64 - 1

Check = Callable[[], Awaitable[JobTarget | None]]


class AccessLost(Exception):
    """The job is gone, or the caller is no longer a member of its organization."""


def predecessor(event_id: str) -> str:
    """The greatest stream id below `event_id` (reading after it starts at `event_id`)."""
    ms, _, seq = event_id.partition("-")
    if int(seq) > 0:
        return f"{int(ms)}-{int(seq) - 1}"
    return f"{int(ms) - 1}-{_MAX_PART}"


async def _cancellable(read: Coroutine[Any, Any, list[StreamEvent]]) -> list[StreamEvent]:
    """`await read`, but cancelled at once when the caller is.

    redis-py's asyncio client can swallow a cancellation that lands while it sets up a
    connection, and carry on reading (redis/redis-py#2028, #2551): an unsubscribed relay would
    live on. The read runs as a task of its own behind `asyncio.shield`, so the relay always
    ends; an abandoned read ends by itself within one blocking timeout.
    """
    task = asyncio.ensure_future(read)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_quietly)
        raise


def _quietly(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as never retrieved


def _seq(event: StreamEvent) -> int | None:
    value = event.data.get("seq")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Relay:
    def __init__(
        self,
        target: JobTarget,
        *,
        last_event_id: str | None,
        streams: EventStreams,
        outbox: Outbox,
        check: Check,
        check_every: float,
    ) -> None:
        self.target = target
        self.job_id = str(target.job_id)
        self.streams = streams
        self.outbox = outbox
        self.check = check
        self.check_every = check_every
        self.anchor = last_event_id if last_event_id not in (None, "0-0") else None
        self.position = self.anchor or "0-0"
        # The `seq` the client is in step with: the last event it got, or the state it was told
        # to reload. None while unknown (events without `seq`, or an unknown last_event_id).
        self.seen: int | None = None if self.anchor else 0
        self.resync_pending = False  # told to resync, and no event since
        self.interrupted = False
        self.recovered = False
        self.settled = 0  # consecutive checks finding the job finished and nothing missing
        self.lagging: int | None = None  # a finished job's count whose last event is missing

    async def run(self) -> None:
        """Relay until cancelled; returns when the caller lost access (after saying so)."""
        state: JobState | None = self.target.state  # read before the stream, as required
        if self.anchor is not None:
            await self._find_anchor(self.anchor)
        while True:
            await self._drain()
            if state is not None:
                await self._compare(state)
            await self._follow(None if self.settled >= 2 else time.monotonic() + self.check_every)
            try:
                state = await self._recheck()
            except AccessLost:
                await self.outbox.put(
                    error_frame("not_found", "There is no such job.", job_id=self.job_id)
                )
                return

    async def _find_anchor(self, anchor: str) -> None:
        events = await self._read(predecessor(anchor), block=None)
        if events and events[0].id == anchor:
            self.seen = _seq(events[0])
            events = events[1:]
        else:
            await self._resync("last_event_id_not_found", self.target.state.events_published)
        await self._deliver(events)

    async def _drain(self) -> None:
        """Deliver everything the stream holds after the position, without waiting."""
        while True:
            events = await self._read(self.position, block=None)
            await self._deliver(events)
            if len(events) < BATCH:
                return

    async def _follow(self, until: float | None) -> None:
        """Deliver live events until `until` (monotonic), or until the stream recovers."""
        while True:
            wait = MAX_BLOCK_SECONDS if until is None else until - time.monotonic()
            if wait < MIN_BLOCK_SECONDS:
                return
            events = await self._read(self.position, block=min(wait, MAX_BLOCK_SECONDS))
            await self._deliver(events)
            if self.recovered:
                self.recovered = False
                self.settled = 0
                return

    async def _recheck(self) -> JobState | None:
        """The job's state now (None when it cannot be read at the moment)."""
        try:
            target = await self.check()
        except Exception as exc:
            log.warning("job state check failed", extra={"job_id": self.job_id, "error": repr(exc)})
            return None
        if target is None:
            raise AccessLost
        return target.state

    async def _compare(self, state: JobState) -> None:
        published = state.events_published
        if published is None or self.seen is None or self.seen >= published:
            self.lagging = None
        elif self.seen < published - 1 or (state.finished and self.lagging == published):
            await self._resync("events_unavailable", published)
            self.lagging = None
        elif state.finished:
            # Only the last event is missing: it may be on its way (a job commits the count,
            # then sends). Missing still at the next check, it was lost.
            self.lagging = published
        self.settled = self.settled + 1 if state.finished and self.lagging is None else 0

    async def _deliver(self, events: list[StreamEvent]) -> None:
        for event in events:
            seq = _seq(event)
            if seq is not None:
                if self.seen is not None and seq > self.seen + 1:
                    await self._resync("sequence_gap", None)
                self.seen = seq if self.seen is None else max(self.seen, seq)
            frame: dict[str, Any] = {**event.data, "event_id": event.id}
            frame.setdefault("job_id", self.job_id)
            await self.outbox.put(frame)
            self.position = event.id
            self.resync_pending = False

    async def _resync(self, reason: str, baseline: int | None) -> None:
        """Tell the client to reload the job's state; it is then in step with `baseline`."""
        if not self.resync_pending:
            log.info("resync required", extra={"job_id": self.job_id, "reason": reason})
            await self.outbox.put(
                {"type": "resync_required", "job_id": self.job_id, "reason": reason}
            )
            self.resync_pending = True
        if baseline is not None:
            self.seen = max(self.seen or 0, baseline)

    async def _read(self, after: str, *, block: float | None) -> list[StreamEvent]:
        """The events after `after`; while the stream is down, retries (saying so once)."""
        attempt = 0
        while True:
            try:
                events = await _cancellable(
                    self.streams.read(self.target.stream, after=after, count=BATCH, block=block)
                )
            except Exception as exc:
                if not self.interrupted:
                    self.interrupted = True
                    log.warning(
                        "event stream unavailable",
                        extra={"job_id": self.job_id, "error": repr(exc)},
                    )
                    await self.outbox.put({"type": "stream_interrupted", "job_id": self.job_id})
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                attempt += 1
                continue
            if self.interrupted:
                self.interrupted = False
                self.recovered = True
                log.info("event stream available again", extra={"job_id": self.job_id})
            return events
