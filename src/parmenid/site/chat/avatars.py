"""Avatars and their knowledge: the business rules behind the admin API and `demo seed`.

A knowledge document is a source document of the avatar's organization, ingested by the
knowledge pipeline (a job); the avatar answers only from its own documents once they are
indexed. Removing a document from an avatar deletes it (file, index entries, row) when no other
avatar of the organization uses it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Text, ValidationFailed, not_found
from parmenid.core.jobs import enqueue
from parmenid.core.storage import ObjectStorage
from parmenid.knowledge.ingestion import DELETE_JOB, add_document
from parmenid.knowledge.models import SourceDocument
from parmenid.site.chat.models import Avatar, AvatarDocument, ChatSession

COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")

BAD_COLOR = Text("primary_color is a hex color like #3B82F6.", "primary_color — цвет вида #3B82F6.")


def bad_origin(origin: str) -> ValidationFailed:
    return ValidationFailed(
        Text(
            f"{origin!r} is not an origin (scheme://host[:port], no path).",
            f"{origin!r} — не origin (scheme://host[:port], без пути).",
        )
    )


def clean_origins(origins: list[str]) -> list[str]:
    cleaned = []
    for origin in origins:
        origin = origin.strip().rstrip("/")
        if not ORIGIN.match(origin):
            raise bad_origin(origin)
        cleaned.append(origin.lower())
    return sorted(set(cleaned))


EDITABLE = {
    "name",
    "description",
    "avatar_image_url",
    "primary_color",
    "welcome_message",
    "system_prompt",
    "language",
    "allowed_origins",
    "is_active",
    "max_messages_per_session",
    "max_message_chars",
}


class AvatarService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, organization_id: uuid.UUID, created_by: uuid.UUID | None, fields: dict[str, Any]
    ) -> Avatar:
        avatar = Avatar(organization_id=organization_id, created_by_id=created_by)
        self._apply(avatar, fields)
        self.session.add(avatar)
        await self.session.flush()
        return avatar

    async def update(self, avatar: Avatar, fields: dict[str, Any]) -> Avatar:
        self._apply(avatar, fields)
        await self.session.flush()
        return avatar

    def _apply(self, avatar: Avatar, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name not in EDITABLE:
                continue
            if name == "primary_color" and value is not None and not COLOR.match(value):
                raise ValidationFailed(BAD_COLOR)
            if name == "allowed_origins":
                avatar.allowed_origins = {"origins": clean_origins(value or [])}
                continue
            setattr(avatar, name, value)

    async def get(self, avatar_id: uuid.UUID) -> Avatar:
        avatar = await self.session.get(Avatar, avatar_id)
        if avatar is None:
            raise not_found("Avatar", "Аватар")
        return avatar

    async def of_organizations(self, organization_ids: list[uuid.UUID]) -> list[Avatar]:
        rows = await self.session.scalars(
            select(Avatar)
            .where(Avatar.organization_id.in_(organization_ids))
            .order_by(Avatar.created_at)
        )
        return list(rows.all())

    async def delete(self, avatar: Avatar) -> None:
        for document in await self.documents(avatar):
            await self.remove_document(avatar, document.id)
        await self.session.delete(avatar)
        await self.session.flush()

    async def add_document(
        self,
        avatar: Avatar,
        storage: ObjectStorage,
        filename: str,
        data: bytes,
        *,
        created_by: uuid.UUID | None,
        source_url: str | None = None,
        queue_job: bool = True,
    ) -> SourceDocument:
        """Store the file as a source document of the avatar's organization and link it; its
        ingestion is queued (the caller's transaction)."""
        document = await add_document(
            self.session,
            storage,
            avatar.organization_id,
            filename,
            data,
            created_by=created_by,
            source_url=source_url,
            queue_job=queue_job,
        )
        self.session.add(AvatarDocument(avatar_id=avatar.id, document_id=document.id))
        await self.session.flush()
        return document

    async def documents(self, avatar: Avatar) -> list[SourceDocument]:
        rows = await self.session.scalars(
            select(SourceDocument)
            .join(AvatarDocument, AvatarDocument.document_id == SourceDocument.id)
            .where(AvatarDocument.avatar_id == avatar.id)
            .order_by(SourceDocument.created_at)
        )
        return list(rows.all())

    async def remove_document(self, avatar: Avatar, document_id: uuid.UUID) -> None:
        link = await self.session.scalar(
            select(AvatarDocument).where(
                AvatarDocument.avatar_id == avatar.id, AvatarDocument.document_id == document_id
            )
        )
        if link is None:
            raise not_found("Document", "Документ")
        await self.session.delete(link)
        await self.session.flush()
        others = await self.session.scalar(
            select(func.count())
            .select_from(AvatarDocument)
            .where(AvatarDocument.document_id == document_id)
        )
        if not others:
            document = await self.session.get(SourceDocument, document_id)
            if document is not None:
                enqueue(
                    self.session,
                    DELETE_JOB,
                    {
                        "organization_id": str(document.organization_id),
                        "document_id": str(document.id),
                        "storage_key": document.storage_key,
                    },
                )
                await self.session.delete(document)
                await self.session.flush()

    async def sessions(
        self, avatar: Avatar, *, limit: int, offset: int
    ) -> tuple[list[ChatSession], int]:
        total = await self.session.scalar(
            select(func.count()).select_from(ChatSession).where(ChatSession.avatar_id == avatar.id)
        )
        rows = await self.session.scalars(
            select(ChatSession)
            .where(ChatSession.avatar_id == avatar.id)
            .order_by(ChatSession.created_at.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all()), int(total or 0)
