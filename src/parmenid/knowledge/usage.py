"""When a source document may go: when no row of any table refers to it any more.

Products link documents to what uses them (a presentation's sources, an avatar's knowledge)
with foreign keys to `source_documents.id`. "In use" is read from those foreign keys in the
schema, so the knowledge domain needs to know no product, and a new kind of link counts as soon
as its table exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import cache

from sqlalchemy import Column, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.jobs import enqueue
from parmenid.knowledge.ingestion import DELETE_JOB
from parmenid.knowledge.models import SourceDocument


@cache
def _links() -> tuple[Column[uuid.UUID], ...]:
    import parmenid.models  # noqa: F401  (every table, so that every link is known)

    target = SourceDocument.__table__.c.id
    return tuple(
        fk.parent
        for table in SourceDocument.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column is target
    )


async def document_in_use(session: AsyncSession, document_id: uuid.UUID) -> bool:
    """Whether any row (a presentation's source, deleted presentations included since they may
    be restored; an avatar's document; ...) refers to the document."""
    links = _links()
    if not links:
        return False
    used = await session.scalar(
        select(or_(*(exists().where(column == document_id) for column in links)))
    )
    return bool(used)


async def release_documents(
    session: AsyncSession, document_ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """Delete each of the documents that nothing uses any more, queueing the removal of its file
    and index entries; returns the deleted ids. Call it after removing the links.

    The document row is locked first, so two transactions letting go of the same document at
    once cannot both see the other's link and leave the document behind."""
    deleted: list[uuid.UUID] = []
    for document_id in sorted(set(document_ids)):
        document = await session.scalar(
            select(SourceDocument).where(SourceDocument.id == document_id).with_for_update()
        )
        if document is None or await document_in_use(session, document_id):
            continue
        enqueue(
            session,
            DELETE_JOB,
            {
                "organization_id": str(document.organization_id),
                "document_id": str(document.id),
                "storage_key": document.storage_key,
            },
        )
        await session.delete(document)
        deleted.append(document_id)
    await session.flush()
    return deleted
