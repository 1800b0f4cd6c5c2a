"""Ingestion: a stored file becomes indexed chunks, as a durable job.

Status goes pending → processing → indexed | failed, and the outcome is published as an
`ingestion_completed` event (the WebSocket contract's shape) on the stream
`ingestion:{document_id}`. A file that cannot be parsed (corrupt, password-protected, too big)
fails for good with a reason a person can act on. When the index (or the embedding service behind
it) is down the document is marked failed with that reason and the job runs again later (five
minutes by default); a re-run replaces the document's chunks, so it is idempotent.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import Database, utcnow
from parmenid.core.jobs import Handler, JobContext, RetryLater, enqueue
from parmenid.core.storage import ObjectStorage
from parmenid.core.streams import EventStreams
from parmenid.knowledge.chunking import chunk_segments
from parmenid.knowledge.index import IndexedChunk, KnowledgeIndex
from parmenid.knowledge.models import IngestionStatus, SourceDocument
from parmenid.knowledge.parsers import (
    ParsedDocument,
    ParseError,
    ParseLimits,
    parse_document_async,
    sniff,
)

log = logging.getLogger("parmenid.ingestion")
JOB_NAME = "knowledge.ingest"


def stream_of(document_id: uuid.UUID) -> str:
    return f"ingestion:{document_id}"


async def add_document(
    session: AsyncSession,
    storage: ObjectStorage,
    organization_id: uuid.UUID,
    filename: str,
    data: bytes,
    *,
    created_by: uuid.UUID | None = None,
    source_url: str | None = None,
    queue_job: bool = True,
) -> SourceDocument:
    """Store the file, record it as pending and queue its ingestion (in the caller's
    transaction). Content sniffing here lets an upload answer 415 at once (`ParseError`)."""
    kind = sniff(data)
    document = SourceDocument(
        organization_id=organization_id,
        created_by_id=created_by,
        filename=filename[:300] or "document",
        kind=kind.value,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key="",
        source_url=source_url,
    )
    document.id = uuid.uuid4()
    document.storage_key = f"documents/{organization_id}/{document.id}"
    await storage.put(document.storage_key, data)
    session.add(document)
    await session.flush()
    if queue_job:
        enqueue(session, JOB_NAME, {"document_id": str(document.id)})
    return document


class DocumentGone(LookupError):
    """The document was deleted before or while it was ingested (nothing to retry)."""


@dataclass(frozen=True)
class Ingestor:
    db: Database
    storage: ObjectStorage
    index: KnowledgeIndex
    streams: EventStreams
    limits: ParseLimits
    retry_after: float = 300.0

    async def ingest(self, document_id: uuid.UUID) -> SourceDocument:
        """Parse, chunk and index one document; see the module docstring for the outcomes."""
        document = await self._update(
            document_id, ingestion_status=IngestionStatus.PROCESSING.value, error_message=None
        )
        data = await self.storage.get(document.storage_key)
        try:
            parsed = await parse_document_async(
                data, filename=document.filename, limits=self.limits
            )
        except ParseError as exc:
            return await self._finish_failed(document, exc.code, exc.reason)
        indexed = indexed_chunks(document, parsed)
        organization = str(document.organization_id)
        try:
            await self.index.ensure_collection()
            await self.index.delete_document(organization, str(document.id))
            await self.index.upsert(organization, str(document.id), indexed)
        except Exception as exc:
            minutes = max(1, round(self.retry_after / 60))
            reason = (
                "Indexing failed: the embedding service or the search index is unavailable "
                f"({exc.__class__.__name__}); retrying in {minutes} min."
            )
            await self._finish_failed(document, "index_unavailable", reason)
            raise RetryLater(reason, self.retry_after) from exc
        try:
            document = await self._update(
                document.id,
                ingestion_status=IngestionStatus.INDEXED.value,
                chunks_created=len(indexed),
                title=(parsed.title or document.filename)[:500],
                page_count=parsed.page_count,
                error_code=None,
                indexed_at=utcnow(),
            )
        except DocumentGone:  # deleted while it was being indexed: take its chunks out again
            await self.index.delete_document(organization, str(document.id))
            raise
        await self.streams.publish(
            stream_of(document.id),
            {
                "type": "ingestion_completed",
                "source_document_id": str(document.id),
                "ingestion_status": "indexed",
                "chunks_created": len(indexed),
            },
        )
        return document

    async def _finish_failed(
        self, document: SourceDocument, code: str, reason: str
    ) -> SourceDocument:
        document = await self._update(
            document.id,
            ingestion_status=IngestionStatus.FAILED.value,
            error_code=code,
            error_message=reason,
        )
        await self.streams.publish(
            stream_of(document.id),
            {
                "type": "ingestion_completed",
                "source_document_id": str(document.id),
                "ingestion_status": "failed",
                "error_message": reason,
            },
        )
        log.warning("ingestion failed", extra={"document_id": str(document.id), "code": code})
        return document

    async def _update(self, document_id: uuid.UUID, **values: Any) -> SourceDocument:
        async with self.db.session() as session:
            document = await session.get(SourceDocument, document_id)
            if document is None:
                raise DocumentGone(f"no source document {document_id}")
            for name, value in values.items():
                setattr(document, name, value)
        return document


def indexed_chunks(document: SourceDocument, parsed: ParsedDocument) -> list[IndexedChunk]:
    """A parsed document's chunks as the index stores them; chunk ids are stable (derived from
    the document id and the chunk's position), so re-reading a file gives the same ids."""
    return [
        IndexedChunk(
            chunk_id=str(uuid.uuid5(document.id, str(chunk.index))),
            text=chunk.text,
            citation=f"{document.filename}, {chunk.citation}".rstrip(", "),
            location=_location(chunk.location, chunk.page_end),
            position=chunk.index,
        )
        for chunk in chunk_segments(parsed.segments)
    ]


def _location(location: Any, page_end: int | None) -> dict[str, Any]:
    return {
        "page": location.page,
        "page_end": page_end,
        "slide": location.slide,
        "sheet": location.sheet,
        "cell_range": location.cell_range,
        "heading_path": list(location.heading_path),
    }


def ingestion_handler(ingestor: Ingestor) -> Handler:
    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        try:
            document = await ingestor.ingest(uuid.UUID(str(payload["document_id"])))
        except DocumentGone:
            return {"skipped": "the document was deleted"}
        return {"status": document.ingestion_status, "chunks_created": document.chunks_created}

    return handle


DELETE_JOB = "knowledge.delete_document"


def deletion_handler(storage: ObjectStorage, index_of: Callable[[], KnowledgeIndex]) -> Handler:
    """Removes a deleted document's file and index entries (its row is already gone)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        await index_of().delete_document(payload["organization_id"], payload["document_id"])
        if payload.get("storage_key"):
            await storage.delete(payload["storage_key"])
        return {"deleted": payload["document_id"]}

    return handle
