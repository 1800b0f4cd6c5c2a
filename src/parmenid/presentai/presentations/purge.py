"""Deleting for good: a soft-deleted presentation once its retention window is over, and source
documents that nothing uses any more.

`presentation.purge` is queued when a presentation is deleted, to run at the end of the window.
It is idempotent and safe to run early, late or twice: it deletes only a presentation that is
still deleted and past the window (a restored one, or one deleted again later, is left alone).
Its slides, their versions, its generation jobs and its source links go with it (foreign keys
cascade); then each of its documents that no other presentation (nor a chat avatar) uses is
deleted, and `knowledge.delete_document` removes the document's file and index entries.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.jobs import Handler, JobContext, enqueue
from parmenid.knowledge.usage import release_documents
from parmenid.presentai.presentations.models import Presentation, PresentationSource

PURGE_JOB = "presentation.purge"


def schedule_purge(session: AsyncSession, presentation_id: uuid.UUID, at: datetime) -> None:
    enqueue(session, PURGE_JOB, {"presentation_id": str(presentation_id)}, run_at=at)


async def purge(
    session: AsyncSession, presentation_id: uuid.UUID, retention: timedelta
) -> dict[str, Any]:
    """Delete the presentation for good if it is still deleted and past the window."""
    presentation = await session.scalar(
        select(Presentation).where(Presentation.id == presentation_id).with_for_update()
    )
    if presentation is None:
        return {"purged": False, "reason": "gone"}
    if presentation.deleted_at is None:
        return {"purged": False, "reason": "restored"}
    if presentation.deleted_at + retention > utcnow():
        return {"purged": False, "reason": "within the retention window"}
    documents = list(
        await session.scalars(
            select(PresentationSource.document_id).where(
                PresentationSource.presentation_id == presentation_id
            )
        )
    )
    await session.delete(presentation)
    await session.flush()
    released = await release_documents(session, documents)
    return {"purged": True, "documents_deleted": [str(d) for d in released]}


def purge_handler(retention: timedelta) -> Handler:
    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        async with context.db.session() as session:
            return await purge(session, uuid.UUID(str(payload["presentation_id"])), retention)

    return handle
