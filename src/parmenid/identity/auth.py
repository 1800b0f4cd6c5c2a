"""Typed FastAPI dependencies that establish who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param

from parmenid.core.errors import Forbidden, Text, Unauthorized
from parmenid.identity.service import INVALID_ACCESS, Audience, IdentityService, Principal
from parmenid.runtime import Runtime
from parmenid.webapp import SessionDep, runtime_of

ADMINS_ONLY = Text(
    "This area is for platform administrators.",
    "Этот раздел доступен только администраторам платформы.",
)


def bearer_token(request: Request) -> str:
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            INVALID_ACCESS, site_code="UNAUTHORIZED", headers={"WWW-Authenticate": "Bearer"}
        )
    return token


def signed_in(
    audience_of: Callable[[Runtime], Audience],
) -> Callable[[Request, SessionDep], Awaitable[Principal]]:
    """A dependency giving the signed-in user of `audience` (401 otherwise)."""

    async def principal(request: Request, session: SessionDep) -> Principal:
        runtime = runtime_of(request)
        token = bearer_token(request)
        service = IdentityService(session, runtime.identity)
        return await service.authenticate(token, audience_of(runtime))

    return principal


def platform_admin(
    audience_of: Callable[[Runtime], Audience],
) -> Callable[[Request, SessionDep], Awaitable[Principal]]:
    """A dependency for platform administrators only (403 for everyone else)."""
    base = signed_in(audience_of)

    async def admin(request: Request, session: SessionDep) -> Principal:
        principal = await base(request, session)
        if not principal.user.is_platform_admin:
            raise Forbidden(ADMINS_ONLY)
        return principal

    return admin
