"""Registration and sign-in on the site (`/api/v1/auth/*`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from parmenid.core.web import require_json
from parmenid.identity.auth import sign_in
from parmenid.identity.schemas import (
    EmailVerificationRequest,
    LogoutRequest,
    RefreshRequest,
    TokenResponse,
    UserLogin,
    UserRegister,
)
from parmenid.identity.service import IdentityService
from parmenid.site.deps import SiteUser, login_limit, register_limit
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
    user = created.user
    return SiteUserResponse(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=created.role.value,
        status=user.status,
        is_email_verified=user.is_email_verified,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.post(
    "/login",
    response_model=TokenResponse,
    dependencies=[login_limit],
    responses={401: {"description": "AUTH_INVALID_CREDENTIALS"}},
)
async def login(
    body: UserLogin,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenResponse:
    """Returns an access token (1800 s) and a refresh token."""
    tokens = await sign_in(request, session, body, runtime.site_audience)
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(**tokens.__dict__)


@router.post("/refresh", response_model=TokenResponse, dependencies=[login_limit])
async def refresh(
    body: RefreshRequest, response: Response, session: SessionDep, runtime: RuntimeDep
) -> TokenResponse:
    """Trades a refresh token for a new pair. Each refresh token works once."""
    tokens = await IdentityService(session, runtime.identity).refresh(
        body.refresh_token, runtime.site_audience
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(**tokens.__dict__)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    principal: SiteUser, session: SessionDep, runtime: RuntimeDep, body: LogoutRequest | None = None
) -> Response:
    await IdentityService(session, runtime.identity).logout(
        principal, body.refresh_token if body else None
    )
    return Response(status_code=204)


@router.post("/logout-all", status_code=204, response_class=Response)
async def logout_all(principal: SiteUser, session: SessionDep, runtime: RuntimeDep) -> Response:
    await IdentityService(session, runtime.identity).logout_all(principal.user)
    return Response(status_code=204)


@router.post("/verify-email", response_model=SiteUserResponse)
async def verify_email(
    body: EmailVerificationRequest, session: SessionDep, runtime: RuntimeDep
) -> SiteUserResponse:
    """Confirms the e-mail with the token from the verification link; the user becomes active."""
    service = IdentityService(session, runtime.identity)
    user = await service.verify_email(body.token)
    role = await service.role_in_personal_organization(user)
    return SiteUserResponse(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=role.value if role else "viewer",
        status=user.status,
        is_email_verified=user.is_email_verified,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
