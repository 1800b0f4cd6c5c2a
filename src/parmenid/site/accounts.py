"""Registration and sign-in on the site (`/api/v1/auth/*`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from parmenid.core.web import require_json
from parmenid.identity.endpoints import add_session_routes
from parmenid.identity.models import User
from parmenid.identity.schemas import (
    EmailVerificationRequest,
    UserRegister,
)
from parmenid.identity.service import IdentityService
from parmenid.site.deps import login_limit, register_limit
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/auth", tags=["Auth"], dependencies=[Depends(require_json)])


class SiteUserResponse(BaseModel):
    """Exactly the contract's 201 body of registration."""

    id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    status: str
    is_email_verified: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User, role: str) -> SiteUserResponse:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=role,
            status=user.status,
            is_email_verified=user.is_email_verified,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


@router.post(
    "/register",
    status_code=201,
    response_model=SiteUserResponse,
    dependencies=[register_limit],
    responses={
        409: {"description": "AUTH_USER_EXISTS: the e-mail is taken"},
        422: {"description": "VALIDATION_ERROR: weak password or bad e-mail"},
    },
)
async def register(
    body: UserRegister, session: SessionDep, runtime: RuntimeDep
) -> SiteUserResponse:
    """Creates a pending user and their personal organization, and sends a verification e-mail."""
    created = await IdentityService(session, runtime.identity).register(
        body.email, body.password, body.full_name
    )
    return SiteUserResponse.of(created.user, created.role.value)


@router.post("/verify-email", response_model=SiteUserResponse)
async def verify_email(
    body: EmailVerificationRequest, session: SessionDep, runtime: RuntimeDep
) -> SiteUserResponse:
    """Confirms the e-mail with the token from the verification link; the user becomes active."""
    service = IdentityService(session, runtime.identity)
    user = await service.verify_email(body.token)
    role = await service.role_in_personal_organization(user)
    return SiteUserResponse.of(user, role.value if role else "viewer")


add_session_routes(
    router,
    lambda runtime: runtime.site_audience,
    login_limit,
    lifetime="1800 s",
    login_responses={401: {"description": "AUTH_INVALID_CREDENTIALS"}},
)
