"""Avatars and their knowledge: the business rules behind the admin API and `demo seed`.

A knowledge document is a source document of the avatar's organization, ingested by the
knowledge pipeline (a job); the avatar answers only from its own documents once they are
indexed. Removing a document from an avatar deletes it (file, index entries, row) when no other
avatar of the organization uses it.

Who may do what: any member of the avatar's organization may read it (viewer), editors manage
its documents, admins and owners create, change and delete avatars and read conversations. An
avatar of an organization the caller is not a member of does not exist for them (404).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import (
    FieldProblem,
    NotFound,
    Text,
    ValidationFailed,
    not_found,
)
from parmenid.core.safe_fetch import FetchPolicy
from parmenid.core.storage import ObjectStorage
from parmenid.identity.models import Membership, Role
from parmenid.identity.organizations import requires
from parmenid.knowledge.intake import add_upload, download
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.usage import release_documents
from parmenid.site.chat.models import Avatar, AvatarDocument, ChatSession

COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")
# The widget shows it as an <img>: only web addresses (no `javascript:` or `data:` URLs).
IMAGE_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)

BAD_COLOR = Text("primary_color is a hex color like #3B82F6.", "primary_color — цвет вида #3B82F6.")
BAD_IMAGE_URL = Text(
    "avatar_image_url must be an http(s) address.",
    "avatar_image_url должен быть адресом http(s).",
)


def invalid(field: str, text: Text) -> ValidationFailed:
    return ValidationFailed(text, problems=[FieldProblem(field, text, "value_error")])


def bad_origin(origin: str) -> ValidationFailed:
    return invalid(
        "allowed_origins",
        Text(
            f"{origin!r} is not an origin (scheme://host[:port], no path).",
            f"{origin!r} — не origin (scheme://host[:port], без пути).",
        ),
    )


def clean_origins(origins: list[str]) -> list[str]:
    cleaned = []
    for origin in origins:
        origin = origin.strip().rstrip("/")
        if not ORIGIN.match(origin):
            raise bad_origin(origin)
        cleaned.append(origin.lower())
    return sorted(set(cleaned))


NO_ORGANIZATION = Text("Organization not found", "Организация не найдена")
NO_CHAT_SESSION = Text("Chat session not found", "Сессия чата не найдена")


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
                raise invalid(name, BAD_COLOR)
            if name == "avatar_image_url":
                value = value or None  # "" clears it
                if value is not None and not IMAGE_URL.match(value):
                    raise invalid(name, BAD_IMAGE_URL)
            if name == "allowed_origins":
                avatar.allowed_origins = {"origins": clean_origins(value or [])}
                continue
            setattr(avatar, name, value)

    async def get(self, avatar_id: uuid.UUID, *, fresh: bool = False) -> Avatar:
        """The avatar (404 if there is none); `fresh` reads the row again, bypassing the
        session's identity map (after the connection was released, say)."""
        avatar = await self.session.get(Avatar, avatar_id, populate_existing=fresh)
        if avatar is None:
            raise not_found("Avatar", "Аватар")
        return avatar

    async def role_in(
        self, organization_id: uuid.UUID, user_id: uuid.UUID, required: Role = Role.VIEWER
    ) -> Role:
        """The user's role in the organization: 404 for a non-member (another tenant's
        organization is not revealed), 403 `insufficient_role` below `required`."""
        role = await self._role(organization_id, user_id)
        if role is None:
            raise NotFound(NO_ORGANIZATION)
        if not role.at_least(required):
            raise requires(required, role)
        return role

    async def for_member(
        self, avatar_id: uuid.UUID, user_id: uuid.UUID, required: Role
    ) -> tuple[Avatar, Role]:
        """The avatar and the user's role in its organization: 404 unless the user is a member
        (whether the avatar exists is not revealed), 403 below `required`."""
        avatar = await self.session.get(Avatar, avatar_id)
        role = None if avatar is None else await self._role(avatar.organization_id, user_id)
        if avatar is None or role is None:
            raise not_found("Avatar", "Аватар")
        if not role.at_least(required):
            raise requires(required, role)
        return avatar, role

    async def _role(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        role = await self.session.scalar(
            select(Membership.role).where(
                Membership.organization_id == organization_id, Membership.user_id == user_id
            )
        )
        return None if role is None else Role(role)

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
        ingestion is queued (the caller's transaction). The type is sniffed from the content
        first: an unsupported one answers 415, an empty or damaged file 422."""
        document = await add_upload(
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

    async def add_document_from_url(
        self,
        avatar: Avatar,
        storage: ObjectStorage,
        url: str,
        *,
        client: httpx.AsyncClient,
        policy: FetchPolicy,
        created_by: uuid.UUID | None,
    ) -> SourceDocument:
        """Download `url` under the SSRF guard and add it like an upload; a refused or failed
        download answers 422 with the reason."""
        name, content = await download(url, client=client, policy=policy)
        return await self.add_document(
            avatar, storage, name, content, created_by=created_by, source_url=url
        )

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
        await release_documents(self.session, [document_id])  # unless a presentation uses it

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

    async def session_of(self, avatar: Avatar, session_id: uuid.UUID) -> ChatSession:
        """A conversation of this avatar, ended or not (404 for another avatar's)."""
        chat = await self.session.get(ChatSession, session_id)
        if chat is None or chat.avatar_id != avatar.id:
            raise NotFound(NO_CHAT_SESSION)
        return chat
