"""PresentAI authentication (`/api/v1/auth/*`): register, login, refresh, logout, logout-all."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from parmenid.core.ratelimit import Limit
from parmenid.core.web import require_json
from parmenid.identity.endpoints import add_session_routes
from parmenid.identity.schemas import (
    EmailVerificationRequest,
    UserRegister,
)
from parmenid.identity.service import IdentityService
from parmenid.presentai.authz import Public, session_principal
from parmenid.webapp import RuntimeDep, SessionDep, rate_limit

router = APIRouter(prefix="/auth", tags=["Auth"], dependencies=[Depends(require_json)])

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
    dependencies=[AUTH_LIMIT, Public],
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


@router.post(
    "/verify-email", status_code=204, response_class=Response, dependencies=[AUTH_LIMIT, Public]
)
async def verify_email(
    body: EmailVerificationRequest, session: SessionDep, runtime: RuntimeDep
) -> Response:
    await IdentityService(session, runtime.identity).verify_email(body.token)
    return Response(status_code=204)


add_session_routes(
    router,
    lambda runtime: runtime.presentai_audience,
    AUTH_LIMIT,
    lifetime="15 minutes",
    login_responses={401: {"description": "unauthorized: wrong e-mail or password"}},
    principal_dependency=session_principal,
    open_dependencies=[Public],
)
