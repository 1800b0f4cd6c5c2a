"""`/api/v1/users/me`: the signed-in user's profile."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from parmenid.core.web import require_json
from parmenid.identity.models import User
from parmenid.identity.organizations import OrganizationService
from parmenid.presentai.authz import PresentAIUser
from parmenid.presentai.organizations import OrganizationOut
from parmenid.webapp import SessionDep

router = APIRouter(prefix="/users", tags=["Users"], dependencies=[Depends(require_json)])


class ProfileUpdate(BaseModel):
    full_name: str | None = Field(default=None, max_length=200)


class Profile(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    status: str
    is_email_verified: bool
    created_at: datetime
    last_login_at: datetime | None
    organizations: list[OrganizationOut]


async def _profile(user: User, session: SessionDep) -> Profile:
    rows = await OrganizationService(session).of_user(user)
    return Profile(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        status=user.status,
        is_email_verified=user.is_email_verified,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        organizations=[OrganizationOut.of(org, role) for org, role in rows],
    )


@router.get("/me", response_model=Profile)
async def get_me(principal: PresentAIUser, session: SessionDep) -> Profile:
    """The profile, with every organization the user belongs to and the role in each."""
    return await _profile(principal.user, session)


@router.patch("/me", response_model=Profile)
async def update_me(body: ProfileUpdate, principal: PresentAIUser, session: SessionDep) -> Profile:
    """Changes the display name (blank clears it)."""
    if "full_name" in body.model_fields_set:
        principal.user.full_name = (body.full_name or "").strip() or None
        await session.flush()
    # Personal fields: the entry names what changed, never the values.
    principal.caller.audit(
        "user.profile_updated",
        target_type="user",
        target_id=principal.user.id,
        changes={"fields": sorted(body.model_fields_set)},
    )
    return await _profile(principal.user, session)
