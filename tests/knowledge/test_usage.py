"""A source document goes only when nothing refers to it: a presentation's source (deleted
presentations included) or an avatar's knowledge; its file and vectors go with it by a job."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from parmenid.core.jobs import Job
from parmenid.identity.models import Organization
from parmenid.knowledge.ingestion import DELETE_JOB
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.usage import document_in_use, release_documents
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.projects.models import Project
from parmenid.runtime import Runtime
from parmenid.site.chat.models import Avatar, AvatarDocument


async def test_a_document_goes_when_its_last_user_lets_it_go(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        organization = Organization(name="Acme", slug=f"acme-{uuid.uuid4().hex[:6]}")
        session.add(organization)
        await session.flush()
        document = SourceDocument(
            organization_id=organization.id,
            filename="a.pdf",
            sha256="0" * 64,
            storage_key="documents/a",
        )
        project = Project(organization_id=organization.id, name="P", search_text="p")
        avatar = Avatar(organization_id=organization.id, name="Bot")
        session.add_all([document, project, avatar])
        await session.flush()
        presentation = Presentation(
            organization_id=organization.id, project_id=project.id, title="Deck"
        )
        session.add(presentation)
        await session.flush()
        session.add_all(
            [
                PresentationSource(
                    organization_id=organization.id,
                    presentation_id=presentation.id,
                    document_id=document.id,
                ),
                AvatarDocument(avatar_id=avatar.id, document_id=document.id),
            ]
        )
        document_id = document.id
    for link in (PresentationSource, AvatarDocument):
        async with runtime.db.session() as session:
            assert await document_in_use(session, document_id)
            assert await release_documents(session, [document_id]) == []
            await session.execute(delete(link).where(link.document_id == document_id))
    async with runtime.db.session() as session:
        assert not await document_in_use(session, document_id)
        assert await release_documents(session, [document_id]) == [document_id]
    async with runtime.db.session() as session:
        assert await session.get(SourceDocument, document_id) is None
        job = await session.scalar(select(Job).where(Job.name == DELETE_JOB))
        assert job is not None and job.payload["document_id"] == str(document_id)
