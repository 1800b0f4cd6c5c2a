"""Shared bits for the avatar admin API tests: a team with a member of every role, and calls."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from parmenid.identity.models import Membership, Role, User
from parmenid.knowledge.models import SourceDocument
from parmenid.runtime import Runtime
from tests.helpers import login, register

AVATARS = "/api/v1/avatars"
UPLOAD_LIMIT = 256 * 1024  # above the 64 KiB cap on JSON bodies
AVATAR_KEYS = {
    "id",
    "organization_id",
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
    "created_at",
    "updated_at",
}
DOCUMENT_KEYS = {
    "id",
    "filename",
    "kind",
    "size_bytes",
    "source_url",
    "ingestion_status",
    "chunks_created",
    "error_code",
    "error_message",
    "created_at",
    "indexed_at",
}
SESSION_KEYS = {
    "id",
    "source",
    "is_active",
    "messages_count",
    "origin",
    "created_at",
    "last_message_at",
}


SETTINGS: dict[str, Any] = {
    "rate_limit": {"enabled": False},  # many sign-ups and sign-ins per test
    "knowledge": {"max_upload_bytes": UPLOAD_LIMIT, "allow_loopback_urls": True},
}


class Team:
    """An organization (the owner's personal one) with a member of every role and a stranger."""

    def __init__(self, organization_id: uuid.UUID, headers: dict[str, dict[str, str]]) -> None:
        self.organization_id = organization_id
        self.headers = headers

    def __getitem__(self, who: str) -> dict[str, str]:
        return self.headers[who]


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def personal_organization(runtime: Runtime, email: str) -> uuid.UUID:
    async with runtime.db.session() as session:
        found = await session.scalar(
            select(Membership.organization_id)
            .join(User, User.id == Membership.user_id)
            .where(User.email == email, Membership.role == Role.OWNER.value)
        )
    assert found is not None
    return found


async def add_member(runtime: Runtime, organization_id: uuid.UUID, email: str, role: Role) -> None:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.add(Membership(organization_id=organization_id, user_id=user.id, role=role.value))


async def make_team(client: httpx.AsyncClient, runtime: Runtime) -> Team:
    headers = {"owner": await sign_in(client, "owner@example.com")}
    organization_id = await personal_organization(runtime, "owner@example.com")
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        email = f"{role.value}@example.com"
        headers[role.value] = await sign_in(client, email)
        await add_member(runtime, organization_id, email, role)
    headers["stranger"] = await sign_in(client, "stranger@example.com")
    return Team(organization_id, headers)


async def create_avatar(
    client: httpx.AsyncClient, team: Team, who: str = "owner", **fields: Any
) -> dict[str, Any]:
    body = {"organization_id": str(team.organization_id), "name": "Консультант", **fields}
    response = await client.post(AVATARS, json=body, headers=team[who])
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def upload(
    client: httpx.AsyncClient,
    avatar_id: str,
    headers: dict[str, str],
    content: bytes,
    filename: str = "prices.md",
) -> httpx.Response:
    return await client.post(
        f"{AVATARS}/{avatar_id}/documents",
        files={"file": (filename, content, "application/octet-stream")},
        headers=headers,
    )


async def document_count(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SourceDocument)) or 0)
