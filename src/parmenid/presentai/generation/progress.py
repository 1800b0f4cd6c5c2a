"""A generation job's progress events on the stream `gen_progress:{job_id}`.

Event shapes are the WebSocket contract's (`outline_generated`, `slide_completed`,
`generation_done`, `generation_error`), plus `generation_warning` (e.g. generated without the
search index). Each event also carries `seq`, its 1-based number within the job. The count is
stored on the job row in the same transaction as the change the event announces, and the event
is sent only after that commit, so:

* a client that reloads over REST after an event never sees older state than the event said;
* an event lost on the way (the stream's Redis restarted, or could not be reached) leaves a gap
  in `seq` that a subscriber sees, and it tells its client to reload the state instead of
  missing it silently.

Events of one job are numbered and sent one at a time (an asyncio lock), so they reach the
stream in `seq` order even when slides are written concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import Database
from parmenid.core.streams import EventStreams
from parmenid.presentai.generation.models import GenerationJob

log = logging.getLogger("parmenid.generation")

STREAM_PREFIX = "gen_progress:"
PUBLISH_RETRIES = (0.2, 0.5, 1.0)


def stream_of(job_id: uuid.UUID | str) -> str:
    return f"{STREAM_PREFIX}{job_id}"


@dataclass
class EventTransaction:
    """A database transaction that ends by announcing `event` (set it before the block ends).
    `job` holds further columns of the job row to set in the same transaction."""

    session: AsyncSession
    seq: int
    event: dict[str, Any] | None = None
    job: dict[str, Any] = field(default_factory=dict)


class Progress:
    """Publishes one job's events in order; sending never raises (progress is not worth a
    job), the transaction's own errors do.

    `model` is the job's table: any with `id` and `events_published` columns (generation
    jobs, export jobs)."""

    def __init__(
        self,
        db: Database,
        streams: EventStreams,
        job_id: uuid.UUID,
        published: int = 0,
        *,
        model: type[Any] = GenerationJob,
    ) -> None:
        self.db = db
        self.streams = streams
        self.job_id = job_id
        self.seq = published
        self.model = model
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[EventTransaction]:
        """Change state and number its event in one transaction; send the event after the
        commit. Nothing is sent when the block raises."""
        async with self._lock:
            seq = self.seq + 1
            async with self.db.session() as session:
                work = EventTransaction(session, seq)
                yield work
                if work.event is not None:
                    await session.execute(
                        update(self.model)
                        .where(self.model.id == self.job_id)
                        .values(events_published=seq, **work.job)
                    )
                elif work.job:
                    await session.execute(
                        update(self.model).where(self.model.id == self.job_id).values(**work.job)
                    )
            if work.event is not None:
                self.seq = seq
                await self._send(work.event, seq)

    async def publish(self, event: dict[str, Any]) -> None:
        """Announce `event` with no other change."""
        async with self.transaction() as work:
            work.event = event

    async def _send(self, event: dict[str, Any], seq: int) -> None:
        for delay in (*PUBLISH_RETRIES, None):
            try:
                await self.streams.publish(stream_of(self.job_id), {**event, "seq": seq})
                return
            except Exception as exc:
                if delay is None:
                    log.warning(
                        "progress event lost",
                        extra={"job_id": str(self.job_id), "seq": seq, "error": repr(exc)},
                    )
                    return
                await asyncio.sleep(delay)
