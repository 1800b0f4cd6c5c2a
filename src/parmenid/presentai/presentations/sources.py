"""A presentation's sources: links to the organization's source documents.

Rules that are not obvious from the code:
* A source is an existing document of the same organization (`file_id`; another organization's
  is 404), or a new upload or web address, which becomes a document whose ingestion is queued.
* The same document twice in one presentation is 409, and so is a new upload or address whose
  content is byte for byte that of a document the presentation already has.
* Removing a source removes the link; the document itself (its row, file and index entries) is
  deleted only when no other presentation, deleted ones included, uses it.
* Sources cannot change while the presentation is being generated (409).
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Conflict, Text
from parmenid.core.storage import ObjectStorage
from parmenid.knowledge.intake import add_upload
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.usage import release_documents
from parmenid.presentai.authz import not_found_text
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.presentations.service import PresentationService

FILE = Text("File", "Файл")
SOURCE = Text("Source", "Источник")


def already_added(link: PresentationSource, document: SourceDocument) -> Conflict:
    return Conflict(
        Text(
            f"“{document.filename}” is already a source of this presentation.",
            f"«{document.filename}» уже добавлен в источники этой презентации.",
        ),
        extra={"source_id": str(link.id), "document_id": str(document.id)},
    )


class SourceService:
    def __init__(self, session: AsyncSession, presentations: PresentationService) -> None:
        self.session = session
        self.presentations = presentations

    async def _link(
        self, presentation: Presentation, document: SourceDocument, added_by: uuid.UUID | None
    ) -> PresentationSource:
        link = PresentationSource(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            document_id=document.id,
            added_by_id=added_by,
        )
        self.session.add(link)
        await self.session.flush()
        return link

    async def add_document(
        self, presentation: Presentation, document_id: uuid.UUID, added_by: uuid.UUID | None
    ) -> tuple[PresentationSource, SourceDocument]:
        """Link an existing document of the organization (locked, so that a concurrent removal
        of its last link cannot delete it under the new one)."""
        await self.presentations.ensure_idle(presentation)
        document = await self.session.scalar(
            select(SourceDocument).where(SourceDocument.id == document_id).with_for_update()
        )
        if document is None or document.organization_id != presentation.organization_id:
            raise not_found_text(FILE)
        existing = await self.session.scalar(
            select(PresentationSource).where(
                PresentationSource.presentation_id == presentation.id,
                PresentationSource.document_id == document.id,
            )
        )
        if existing is not None:
            raise already_added(existing, document)
        return await self._link(presentation, document, added_by), document

    async def add_content(
        self,
        presentation: Presentation,
        storage: ObjectStorage,
        filename: str,
        data: bytes,
        *,
        added_by: uuid.UUID | None,
        source_url: str | None = None,
    ) -> tuple[PresentationSource, SourceDocument]:
        """Store new content as a document, queue its ingestion and link it."""
        await self.presentations.ensure_idle(presentation)
        digest = hashlib.sha256(data).hexdigest()
        same = await self.session.execute(
            select(PresentationSource, SourceDocument)
            .join(SourceDocument, SourceDocument.id == PresentationSource.document_id)
            .where(
                PresentationSource.presentation_id == presentation.id,
                SourceDocument.sha256 == digest,
            )
            .limit(1)
        )
        found = same.first()
        if found is not None:
            raise already_added(*found)
        document = await add_upload(
            self.session,
            storage,
            presentation.organization_id,
            filename,
            data,
            created_by=added_by,
            source_url=source_url,
        )
        return await self._link(presentation, document, added_by), document

    async def remove(
        self, presentation: Presentation, source_id: uuid.UUID
    ) -> tuple[PresentationSource, list[uuid.UUID]]:
        """Remove the link; returns it and the documents deleted with it (unused elsewhere)."""
        link = await self.session.scalar(
            select(PresentationSource).where(
                PresentationSource.id == source_id,
                PresentationSource.presentation_id == presentation.id,
            )
        )
        if link is None:
            raise not_found_text(SOURCE)
        await self.presentations.ensure_idle(presentation)
        await self.session.delete(link)
        await self.session.flush()
        return link, await release_documents(self.session, [link.document_id])
