"""PresentAI authentication (`/api/v1/auth/*`): register, login, refresh, logout, logout-all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from parmenid.core.ratelimit import Limit
from parmenid.core.web import require_json
from parmenid.identity.auth import sign_in, signed_in
from parmenid.identity.schemas import (
    EmailVerificationRequest,
    LogoutRequest,
    RefreshRequest,
    TokenResponse,
    UserLogin,
    UserRegister,
)
from parmenid.identity.service import IdentityService, Principal
from parmenid.webapp import RuntimeDep, SessionDep, rate_limit

router = APIRouter(prefix="/auth", tags=["Auth"], dependencies=[Depends(require_json)])

PresentAIUser = Annotated[Principal, Depends(signed_in(lambda runtime: runtime.presentai_audience))]
AUTH_LIMIT = Depends(rate_limit(Limit.of("auth", "10/minute")))


class OrganizationRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    role: str


class RegisteredUser(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    status: str
    is_email_verified: bool
    created_at: datetime
    organization: OrganizationRef


@router.post(
    "/register",
    status_code=201,
    response_model=RegisteredUser,
    dependencies=[AUTH_LIMIT],
    responses={409: {"description": "conflict: the e-mail is taken"}},
)
async def register(body: UserRegister, session: SessionDep, runtime: RuntimeDep) -> RegisteredUser:
    """Creates a pending user with a personal organization (owner); sends verification."""
    created = await IdentityService(session, runtime.identity).register(
        body.email, body.password, body.full_name
    )
    user, org = created.user, created.organization
    return RegisteredUser(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        status=user.status,
        is_email_verified=user.is_email_verified,
        created_at=user.created_at,
        organization=OrganizationRef(id=org.id, name=org.name, slug=org.slug, role=created.role),
    )


@router.post("/login", response_model=TokenResponse, dependencies=[AUTH_LIMIT])
async def login(
    body: UserLogin,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenResponse:
    """Returns a JWT access token (15 minutes) and an opaque refresh token."""
    tokens = await sign_in(request, session, body, runtime.presentai_audience)
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(**tokens.__dict__)


@router.post("/refresh", response_model=TokenResponse, dependencies=[AUTH_LIMIT])
async def refresh(
    body: RefreshRequest, response: Response, session: SessionDep, runtime: RuntimeDep
) -> TokenResponse:
    """Rotates the refresh token. Reusing an old one revokes the whole session."""
    tokens = await IdentityService(session, runtime.identity).refresh(
        body.refresh_token, runtime.presentai_audience
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(**tokens.__dict__)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    principal: PresentAIUser,
    session: SessionDep,
    runtime: RuntimeDep,
    body: LogoutRequest | None = None,
) -> Response:
    """Ends this session: its refresh token and access tokens stop working."""
    await IdentityService(session, runtime.identity).logout(
        principal, body.refresh_token if body else None
    )
    return Response(status_code=204)


@router.post("/logout-all", status_code=204, response_class=Response)
async def logout_all(
    principal: PresentAIUser, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Ends every session of the user, including live access tokens."""
    await IdentityService(session, runtime.identity).logout_all(principal.user)
    return Response(status_code=204)


@router.post("/verify-email", status_code=204, response_class=Response)
async def verify_email(
    body: EmailVerificationRequest, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await IdentityService(session, runtime.identity).verify_email(body.token)
    return Response(status_code=204)
