"""`/api/v1/users/me`: the signed-in user's profile."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from parmenid.core.downloads import PreparedFile
from parmenid.core.errors import Text, ValidationFailed, not_found
from parmenid.core.web import require_json
from parmenid.identity.exports import PERSONAL_DATA, request_file
from parmenid.identity.models import User
from parmenid.identity.organizations import OrganizationService
from parmenid.identity.privacy import erase_user
from parmenid.presentai.authz import PresentAIUser
from parmenid.presentai.downloads import PreparedFileOut, describe
from parmenid.presentai.organizations import OrganizationOut
from parmenid.webapp import RuntimeDep, SessionDep

WRONG_PASSWORD = Text(
    "The password is wrong; the account was not deleted.",
    "Неверный пароль; аккаунт не удалён.",
)

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
async def update_me(
    body: ProfileUpdate, principal: PresentAIUser, session: SessionDep, runtime: RuntimeDep
) -> Profile:
    """Changes the display name (blank clears it)."""
    runtime.identity.principals.forget_user(principal.user.id)
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


class AccountDeletion(BaseModel):
    password: str = Field(min_length=1, max_length=200, description="Your password, to confirm.")


class DeletedAccount(BaseModel):
    deleted: bool
    organizations_deleted: list[uuid.UUID]
    sessions_ended: int
    api_keys_revoked: int


@router.delete(
    "/me",
    response_model=DeletedAccount,
    responses={
        409: {"description": "conflict: you are the only owner of an organization with others"},
        422: {"description": "validation_error: wrong password"},
    },
)
async def delete_me(
    body: AccountDeletion, principal: PresentAIUser, session: SessionDep, runtime: RuntimeDep
) -> DeletedAccount:
    """Erases the account (GDPR): personal data is deleted, every session and API key you
    made ends, and organizations where you are the only member are deleted with their data.
    Refused (409) while you are the only owner of an organization that has other members."""
    if not await runtime.identity.passwords.verify(principal.user.password_hash, body.password):
        raise ValidationFailed(WRONG_PASSWORD)
    erasure = await erase_user(session, principal.user, runtime.api_key_cache)
    runtime.identity.principals.forget_user(principal.user.id)
    principal.caller.audited_by_handler = True  # erase_user wrote the entry, without addresses
    return DeletedAccount(
        deleted=True,
        organizations_deleted=erasure.organizations_deleted,
        sessions_ended=erasure.sessions_ended,
        api_keys_revoked=erasure.api_keys_revoked,
    )


def _export_status_url(request: Request, file_id: uuid.UUID) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/v1/users/me/export-data/{file_id}"


@router.post("/me/export-data", status_code=202, response_model=PreparedFileOut)
async def export_my_data(
    principal: PresentAIUser, session: SessionDep, runtime: RuntimeDep, request: Request
) -> PreparedFileOut:
    """Starts building a ZIP of everything personal we hold about you (profile, memberships,
    sign-ins, keys you made, invitations, your uploads, audit entries by or about you). Poll
    `status_url`; once ready it carries a time-limited `download_url`."""
    prepared = request_file(
        session,
        kind=PERSONAL_DATA,
        requested_by_id=principal.user.id,
        organization_id=None,
        filename="personal-data.zip",
        content_type="application/zip",
    )
    await session.flush()
    principal.caller.audit("user.data_exported", target_type="user", target_id=principal.user.id)
    return describe(prepared, _export_status_url(request, prepared.id), runtime)


@router.get("/me/export-data/{file_id}", response_model=PreparedFileOut)
async def my_export_status(
    file_id: uuid.UUID,
    principal: PresentAIUser,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> PreparedFileOut:
    """The export's state; once ready, a fresh signed `download_url` each time."""
    prepared = await session.get(PreparedFile, file_id)
    if prepared is None or prepared.requested_by_id != principal.user.id:
        raise not_found("Export", "Экспорт")
    return describe(prepared, _export_status_url(request, file_id), runtime)
