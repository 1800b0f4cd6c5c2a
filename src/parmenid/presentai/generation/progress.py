"""A generation job's progress events on the stream `gen_progress:{job_id}`.

Event shapes are the WebSocket contract's (`outline_generated`, `slide_completed`,
`generation_done`, `generation_error`), plus `generation_warning` (e.g. generated without the
search index). Each event also carries `seq`, its 1-based number within the job. The count is
stored on the job row *before* the event is sent, so an event lost on the way (the stream's
Redis restarted, or could not be reached) leaves a gap in `seq` that a subscriber sees, and it
tells its client to reload the state over REST instead of missing it silently.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy import update

from parmenid.core.db import Database
from parmenid.core.streams import EventStreams
from parmenid.presentai.generation.models import GenerationJob

log = logging.getLogger("parmenid.generation")

STREAM_PREFIX = "gen_progress:"
PUBLISH_RETRIES = (0.2, 0.5, 1.0)


def stream_of(job_id: uuid.UUID | str) -> str:
    return f"{STREAM_PREFIX}{job_id}"


class Progress:
    """Publishes one job's events in order; never raises (progress is not worth a job)."""

    def __init__(
        self, db: Database, streams: EventStreams, job_id: uuid.UUID, published: int = 0
    ) -> None:
        self.db = db
        self.streams = streams
        self.job_id = job_id
        self.seq = published
        self._lock = asyncio.Lock()

    async def publish(self, event: dict[str, Any]) -> str | None:
        """Send `event` (with `seq`); the stream id, or None when it could not be sent."""
        async with self._lock:
            self.seq += 1
            seq = self.seq
            async with self.db.session() as session:
                await session.execute(
                    update(GenerationJob)
                    .where(GenerationJob.id == self.job_id)
                    .values(events_published=seq)
                )
            for delay in (*PUBLISH_RETRIES, None):
                try:
                    return await self.streams.publish(stream_of(self.job_id), {**event, "seq": seq})
                except Exception as exc:
                    if delay is None:
                        log.warning(
                            "progress event lost",
                            extra={"job_id": str(self.job_id), "seq": seq, "error": repr(exc)},
                        )
                        return None
                    await asyncio.sleep(delay)
            return None
