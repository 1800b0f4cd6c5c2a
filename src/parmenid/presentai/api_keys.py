"""`/api/v1/api-keys`: organization API keys with scopes (admins and owners manage them)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, Text
from parmenid.core.web import require_json
from parmenid.identity.api_keys import SCOPES, ApiKey, ApiKeyService
from parmenid.identity.models import Membership, Role
from parmenid.presentai.authz import (
    OrgAccess,
    PresentAIUser,
    authorize,
    in_body_organization,
    on_resource,
    owned_by,
)
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/api-keys", tags=["API Keys"], dependencies=[Depends(require_json)])

ScopeName = Literal[
    "presentations:read",
    "presentations:write",
    "exports:write",
    "webhooks:read",
    "webhooks:write",
    "organizations:read",
    "usage:read",
    "audit:read",
]
assert set(ScopeName.__args__) == set(SCOPES)  # type: ignore[attr-defined]


KEY = Text("API key", "API-ключ")
KeyCreator = Annotated[OrgAccess, Depends(in_body_organization(Role.ADMIN, None))]
KeyManager = Annotated[
    OrgAccess, Depends(on_resource("key_id", owned_by(ApiKey), KEY, Role.ADMIN, None))
]


class ApiKeyCreate(BaseModel):
    organization_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    scopes: list[ScopeName] = Field(min_length=1, description=", ".join(SCOPES))
    expires_at: datetime | None = Field(default=None, description="Never expires when null.")


class ApiKeyRotate(BaseModel):
    grace_period_seconds: int | None = Field(
        default=None,
        ge=0,
        le=7 * 86400,
        description="How long the old secret keeps working (default: the server's setting).",
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's public part; the secret is never shown again.")
    scopes: list[str]
    status: Literal["active", "revoked", "expired"]
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            organization_id=key.organization_id,
            name=key.name,
            prefix=key.prefix,
            scopes=key.granted,
            status=key.status(utcnow()),
            created_by=key.created_by_id,
            created_at=key.created_at,
            expires_at=key.expires_at,
            rotated_at=key.rotated_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


class ApiKeySecret(ApiKeyOut):
    key: str = Field(description="The whole key. Shown only now: store it safely.")
    previous_key_valid_until: datetime | None = None


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


@router.post("", status_code=201, response_model=ApiKeySecret)
async def create_api_key(
    body: ApiKeyCreate, access: KeyCreator, session: SessionDep, runtime: RuntimeDep
) -> ApiKeySecret:
    """Creates a key for the organization (admins and owners). The secret is in this response
    only; afterwards the key is known by its `prefix`."""
    issued = await ApiKeyService(session, runtime.api_key_cache).create(
        access.organization.id, access.user.id, body.name, list(body.scopes), body.expires_at
    )
    access.caller.audit(
        "api_key.created",
        target_type="api_key",
        target_id=issued.key.id,
        changes={"name": issued.key.name, "scopes": issued.key.granted},
    )
    return ApiKeySecret(**ApiKeyOut.of(issued.key).model_dump(), key=issued.secret)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(
    principal: PresentAIUser,
    session: SessionDep,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
    include_revoked: bool = False,
) -> ApiKeyList:
    """Keys of the organizations where you are an admin or owner (or of one of them)."""
    if organization_id is not None:
        await authorize(session, principal.caller, organization_id, Role.ADMIN, None)
        organizations = [organization_id]
    else:
        managed = await session.scalars(
            select(Membership.organization_id).where(
                Membership.user_id == principal.user.id,
                Membership.role.in_([Role.OWNER.value, Role.ADMIN.value]),
            )
        )
        organizations = list(managed.all())
    keys = await ApiKeyService(session).of_organizations(
        organizations, include_revoked=include_revoked
    )
    return ApiKeyList(items=[ApiKeyOut.of(key) for key in keys])


@router.post("/{key_id}/rotate", response_model=ApiKeySecret)
async def rotate_api_key(
    key_id: uuid.UUID,
    access: KeyManager,
    session: SessionDep,
    runtime: RuntimeDep,
    body: ApiKeyRotate | None = None,
) -> ApiKeySecret:
    """Issues a new secret for the key. The old one dies at once, or after
    `grace_period_seconds` when asked (the default is the server's setting)."""
    key = await session.get(ApiKey, key_id)
    assert key is not None
    if key.status(utcnow()) != "active":
        raise Conflict(
            Text("Only an active key can be rotated.", "Ротировать можно только активный ключ.")
        )
    seconds = body.grace_period_seconds if body and body.grace_period_seconds is not None else None
    grace = timedelta(
        seconds=seconds
        if seconds is not None
        else runtime.settings.presentai.api_key_rotation_grace_seconds
    )
    issued = await ApiKeyService(session, runtime.api_key_cache).rotate(key, grace)
    access.caller.audit(
        "api_key.rotated",
        target_type="api_key",
        target_id=key.id,
        changes={"grace_period_seconds": int(grace.total_seconds())},
    )
    return ApiKeySecret(
        **ApiKeyOut.of(issued.key).model_dump(),
        key=issued.secret,
        previous_key_valid_until=issued.key.previous_valid_until,
    )


@router.delete("/{key_id}", status_code=204, response_class=Response)
async def revoke_api_key(
    key_id: uuid.UUID, access: KeyManager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Revokes the key at once (its rotated-out secret too). Revoking twice is fine."""
    key = await session.get(ApiKey, key_id)
    assert key is not None
    await ApiKeyService(session, runtime.api_key_cache).revoke(key)
    access.caller.audit("api_key.revoked", target_type="api_key", target_id=key.id)
    return Response(status_code=204)
