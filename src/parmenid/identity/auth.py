"""Typed FastAPI dependencies that establish who is calling."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Forbidden, Text, Unauthorized
from parmenid.core.observability import request_id_of
from parmenid.core.ratelimit import Limit
from parmenid.identity.audit import Actor, AuditLog
from parmenid.identity.models import User
from parmenid.identity.schemas import UserLogin
from parmenid.identity.service import (
    INVALID_ACCESS,
    Audience,
    IdentityService,
    Principal,
    TokenPair,
    normalize_email,
)
from parmenid.runtime import Runtime
from parmenid.webapp import SessionDep, ip_of, runtime_of

ADMINS_ONLY = Text(
    "This area is for platform administrators.",
    "Этот раздел доступен только администраторам платформы.",
)


def bearer_token(request: Request) -> str:
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(INVALID_ACCESS, headers={"WWW-Authenticate": "Bearer"})
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


TOO_MANY_FAILURES = Text(
    "Too many failed sign-in attempts for this account. Please try again later.",
    "Слишком много неудачных попыток входа. Попробуйте позже.",
)


async def sign_in(
    request: Request, session: AsyncSession, body: UserLogin, audience: Audience
) -> TokenPair:
    """Log in with a per-account budget of failures on top of the per-IP limit.

    Only failed attempts are counted, so a person who types the password right is never
    throttled by someone guessing at their account from elsewhere until the budget runs out.
    """
    runtime = runtime_of(request)
    account_limit = Limit.of("login_account", runtime.settings.auth.login_failures_per_account)
    account_key = hashlib.sha256(normalize_email(body.email).encode()).hexdigest()
    refusal = await runtime.limiter.exhausted(account_limit, account_key)
    if refusal is not None:
        raise refusal.refusal(TOO_MANY_FAILURES)
    ip, user_agent = ip_of(request), request.headers.get("user-agent")
    log = AuditLog(session)
    try:
        user, tokens = await IdentityService(session, runtime.identity).login(
            body.email, body.password, audience, ip=ip, user_agent=user_agent
        )
    except Unauthorized:
        await runtime.limiter.hit(account_limit, account_key)
        known = await session.scalar(
            select(User.id).where(User.email == normalize_email(body.email))
        )
        await log.record(
            actor=Actor.user(known) if known else Actor.anonymous(),
            action="security.login_failed",
            target_type="user" if known else None,
            target_id=str(known) if known else None,
            changes={"app": audience.name},
            ip=ip,
            user_agent=user_agent,
            request_id=request_id_of(request),
        )
        session.info["commit_on_error"] = True  # the failure is recorded despite the 401
        raise
    await log.record(
        actor=Actor.user(user.id),
        action="security.login",
        target_type="user",
        target_id=str(user.id),
        changes={"app": audience.name},
        ip=ip,
        user_agent=user_agent,
        request_id=request_id_of(request),
    )
    return tokens
