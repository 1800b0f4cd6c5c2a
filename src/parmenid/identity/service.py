"""Registration, sign-in, token rotation, logout and e-mail verification.

Rules that are not obvious from the code:
* An unknown e-mail and a wrong password get the same 401 and take the same time (a dummy hash
  is verified for unknown accounts).
* A refresh token is used once. Presenting a used one again means it was copied: the whole
  session (token family) is revoked, so the thief's and the owner's copies both die.
* Logout-all bumps the user's `token_version`; access tokens carry it, so live ones fail at once.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, Forbidden, Text, Unauthorized, ValidationFailed
from parmenid.core.jobs import enqueue
from parmenid.identity.models import (
    AuthSession,
    EmailVerification,
    Membership,
    Organization,
    RefreshToken,
    Role,
    User,
    UserStatus,
)
from parmenid.identity.passwords import PASSWORD_RULE, Passwords, password_is_strong
from parmenid.identity.tokens import AccessTokens, InvalidToken, opaque_token, token_digest

USER_EXISTS = Text(
    "A user with this e-mail is already registered. Please sign in.",
    "Пользователь с таким email уже зарегистрирован. Войдите в личный кабинет.",
)
BAD_CREDENTIALS = Text("Wrong e-mail or password.", "Неверный email или пароль.")
ACCOUNT_DISABLED = Text("This account is disabled.", "Учётная запись заблокирована.")
INVALID_REFRESH = Text(
    "The refresh token is invalid or expired. Please sign in again.",
    "Токен обновления недействителен или истёк. Войдите снова.",
)
INVALID_ACCESS = Text(
    "Missing, invalid or expired access token.",
    "Токен доступа отсутствует, недействителен или истёк.",
)
INVALID_VERIFICATION = Text(
    "The verification link is invalid or expired.",
    "Ссылка подтверждения недействительна или устарела.",
)


@dataclass
class _Verified:
    user_values: dict[str, Any]
    user_id: uuid.UUID
    token_version: int
    usable: bool  # the session is not revoked and the user not disabled
    at: float


@dataclass
class PrincipalCache:
    """Sign-ins verified recently, so a request with a valid access token needs no query.

    Kept per process for `ttl_seconds`. Logout, logout-all, a refresh-token reuse and account
    changes made in this process take effect at once; another process sees them within the TTL
    (0 turns the cache off).
    """

    ttl_seconds: float
    _entries: dict[uuid.UUID, _Verified] = field(default_factory=dict)

    def get(self, session_id: uuid.UUID) -> _Verified | None:
        if self.ttl_seconds <= 0:
            return None
        entry = self._entries.get(session_id)
        if entry is not None and time.monotonic() - entry.at > self.ttl_seconds:
            del self._entries[session_id]
            return None
        return entry

    def put(self, session_id: uuid.UUID, user: User, usable: bool) -> None:
        if self.ttl_seconds <= 0:
            return
        if len(self._entries) > 50_000:
            self._entries.clear()
        values = {column.key: getattr(user, column.key) for column in User.__table__.columns}
        self._entries[session_id] = _Verified(
            values, user.id, user.token_version, usable, time.monotonic()
        )

    def forget_sessions(self, session_ids: list[uuid.UUID]) -> None:
        for session_id in session_ids:
            self._entries.pop(session_id, None)

    def forget_user(self, user_id: uuid.UUID) -> None:
        for session_id in [k for k, v in self._entries.items() if v.user_id == user_id]:
            self._entries.pop(session_id, None)


@dataclass(frozen=True)
class IdentityConfig:
    passwords: Passwords
    tokens: AccessTokens
    refresh_ttl: timedelta
    verification_ttl: timedelta
    verification_url: str  # the link in the e-mail; the token is appended as ?token=
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))


@dataclass(frozen=True)
class Audience:
    """Who a token is for: each app has its own audience and access-token lifetime."""

    name: str
    access_ttl_seconds: int


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True)
class Registration:
    user: User
    organization: Organization
    role: Role
    verification_token: str


@dataclass(frozen=True)
class Principal:
    """A signed-in user, as established from an access token."""

    user: User
    session_id: uuid.UUID


class IdentityService:
    def __init__(self, session: AsyncSession, config: IdentityConfig) -> None:
        self.session = session
        self.config = config

    async def register(self, email: str, password: str, full_name: str | None) -> Registration:
        """Create a pending user, their personal organization (owner), and send verification."""
        if not password_is_strong(password):
            raise ValidationFailed(PASSWORD_RULE, site_code="VALIDATION_ERROR")
        email = normalize_email(email)
        if await self._user_by_email(email) is not None:
            raise Conflict(USER_EXISTS, site_code="AUTH_USER_EXISTS")
        user = User(
            email=email,
            password_hash=await self.config.passwords.hash(password),
            full_name=full_name,
        )
        organization = Organization(
            name=full_name or email.split("@", 1)[0],
            slug=_personal_slug(email),
            is_personal=True,
        )
        self.session.add_all([user, organization])
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent registration with the same e-mail won
            raise Conflict(USER_EXISTS, site_code="AUTH_USER_EXISTS") from exc
        self.session.add(
            Membership(organization_id=organization.id, user_id=user.id, role=Role.OWNER.value)
        )
        token = await self._start_verification(user)
        return Registration(user, organization, Role.OWNER, token)

    async def login(
        self,
        email: str,
        password: str,
        audience: Audience,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[User, TokenPair]:
        user = await self._user_by_email(normalize_email(email))
        ok = await self.config.passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            raise Unauthorized(BAD_CREDENTIALS, site_code="AUTH_INVALID_CREDENTIALS")
        if user.status == UserStatus.DISABLED:
            raise Forbidden(ACCOUNT_DISABLED, site_code="AUTH_ACCOUNT_DISABLED")
        if self.config.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.config.passwords.hash(password)
        user.last_login_at = utcnow()
        auth_session = AuthSession(
            user_id=user.id,
            audience=audience.name,
            ip=ip,
            user_agent=(user_agent or "")[:400] or None,
        )
        self.session.add(auth_session)
        await self.session.flush()
        return user, await self._issue(user, auth_session, audience)

    async def refresh(self, refresh_token: str, audience: Audience) -> TokenPair:
        """Trade a refresh token for a new pair; a reused token revokes its whole family."""
        row = (
            await self.session.execute(
                select(RefreshToken, AuthSession, User)
                .join(AuthSession, AuthSession.id == RefreshToken.session_id)
                .join(User, User.id == AuthSession.user_id)
                .where(RefreshToken.token_hash == token_digest(refresh_token))
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized(INVALID_REFRESH, site_code="AUTH_INVALID_TOKEN")
        stored, auth_session, user = row
        now = utcnow()
        if auth_session.revoked_at is not None or auth_session.audience != audience.name:
            raise Unauthorized(INVALID_REFRESH, site_code="AUTH_INVALID_TOKEN")
        if stored.used_at is not None:
            await self._revoke_reused(auth_session)
        if stored.expires_at <= now or user.status == UserStatus.DISABLED:
            raise Unauthorized(INVALID_REFRESH, site_code="AUTH_INVALID_TOKEN")
        claimed = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        if getattr(claimed, "rowcount", 0) != 1:  # a concurrent refresh with the same token
            await self._revoke_reused(auth_session)
        auth_session.last_used_at = now
        return await self._issue(user, auth_session, audience)

    async def _revoke_reused(self, auth_session: AuthSession) -> None:
        await self._revoke_sessions([auth_session.id], reason="refresh_token_reuse")
        # The revocation must outlive the 401 this raises: see `keep_on_error`.
        self.session.info["commit_on_error"] = True
        raise Unauthorized(INVALID_REFRESH, site_code="AUTH_INVALID_TOKEN")

    async def logout(self, principal: Principal, refresh_token: str | None = None) -> None:
        """End the caller's session (and the refresh token's, when one is given)."""
        ids = [principal.session_id]
        if refresh_token:
            owned = await self.session.scalar(
                select(RefreshToken.session_id)
                .join(AuthSession, AuthSession.id == RefreshToken.session_id)
                .where(
                    RefreshToken.token_hash == token_digest(refresh_token),
                    AuthSession.user_id == principal.user.id,
                )
            )
            if owned is not None:
                ids.append(owned)
        await self._revoke_sessions(ids, reason="logout")

    async def logout_all(self, user: User) -> None:
        """End every session of the user, live access tokens included."""
        self.config.principals.forget_user(user.id)
        await self.session.execute(
            update(User).where(User.id == user.id).values(token_version=User.token_version + 1)
        )
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason="logout_all")
        )

    async def authenticate(self, token: str, audience: Audience) -> Principal:
        """Check an access token: signature, issuer, audience, expiry, then session and user
        (from the principal cache when this sign-in was verified moments ago)."""
        try:
            claims = self.config.tokens.decode(token, audience=audience.name)
        except InvalidToken as exc:
            raise Unauthorized(INVALID_ACCESS) from exc
        cached = self.config.principals.get(claims.session_id)
        if cached is not None and cached.user_id == claims.user_id:
            if not cached.usable or cached.token_version != claims.token_version:
                raise Unauthorized(INVALID_ACCESS)
            user = User(**cached.user_values)
            make_transient_to_detached(user)
            self.session.add(user)  # persistent in this session, without a query
            return Principal(user, claims.session_id)
        row = (
            await self.session.execute(
                select(User, AuthSession.revoked_at)
                .join(AuthSession, AuthSession.user_id == User.id)
                .where(User.id == claims.user_id, AuthSession.id == claims.session_id)
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized(INVALID_ACCESS)
        user, revoked_at = row
        usable = revoked_at is None and user.status != UserStatus.DISABLED
        self.config.principals.put(claims.session_id, user, usable)
        if not usable or user.token_version != claims.token_version:
            raise Unauthorized(INVALID_ACCESS)
        return Principal(user, claims.session_id)

    async def verify_email(self, token: str) -> User:
        row = (
            await self.session.execute(
                select(EmailVerification, User)
                .join(User, User.id == EmailVerification.user_id)
                .where(EmailVerification.token_hash == token_digest(token))
            )
        ).one_or_none()
        if row is None:
            raise ValidationFailed(INVALID_VERIFICATION, site_code="AUTH_INVALID_TOKEN")
        verification, user = row
        now = utcnow()
        if verification.used_at is not None and user.is_email_verified:
            return user  # clicking the link twice is fine
        if verification.used_at is not None or verification.expires_at <= now:
            raise ValidationFailed(INVALID_VERIFICATION, site_code="AUTH_INVALID_TOKEN")
        verification.used_at = now
        self.config.principals.forget_user(user.id)
        user.is_email_verified = True
        user.email_verified_at = now
        if user.status == UserStatus.PENDING:
            user.status = UserStatus.ACTIVE.value
        return user

    async def resend_verification(self, user: User) -> None:
        if not user.is_email_verified:
            await self._start_verification(user)

    async def role_in_personal_organization(self, user: User) -> Role | None:
        role = await self.session.scalar(
            select(Membership.role)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.user_id == user.id)
            .order_by(Organization.is_personal.desc(), Membership.created_at)
            .limit(1)
        )
        return Role(role) if role else None

    async def _start_verification(self, user: User) -> str:
        token = opaque_token()
        self.session.add(
            EmailVerification(
                user_id=user.id,
                token_hash=token_digest(token),
                expires_at=utcnow() + self.config.verification_ttl,
            )
        )
        link = f"{self.config.verification_url}?token={token}"
        enqueue(
            self.session,
            "notify.email",
            {
                "to": user.email,
                "subject": "Подтвердите email / Confirm your e-mail — Parmenid",
                "text": (
                    f"Здравствуйте{', ' + user.full_name if user.full_name else ''}!\n\n"
                    f"Чтобы подтвердить адрес, откройте ссылку:\n{link}\n\n"
                    f"To confirm your e-mail address, open the link above.\n"
                ),
            },
            subject_id=user.id,
        )
        return token

    async def _issue(self, user: User, auth_session: AuthSession, audience: Audience) -> TokenPair:
        refresh = opaque_token("rt_")
        self.session.add(
            RefreshToken(
                session_id=auth_session.id,
                token_hash=token_digest(refresh),
                expires_at=utcnow() + self.config.refresh_ttl,
            )
        )
        access = self.config.tokens.issue(
            user_id=user.id,
            session_id=auth_session.id,
            token_version=user.token_version,
            audience=audience.name,
            ttl_seconds=audience.access_ttl_seconds,
        )
        return TokenPair(access, refresh, audience.access_ttl_seconds)

    async def _revoke_sessions(self, ids: list[uuid.UUID], *, reason: str) -> None:
        self.config.principals.forget_sessions(ids)
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(ids), AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
        )

    async def _user_by_email(self, email: str) -> User | None:
        user: User | None = await self.session.scalar(select(User).where(User.email == email))
        return user


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _personal_slug(email: str) -> str:
    local = unicodedata.normalize("NFKD", email.split("@", 1)[0])
    base = re.sub(r"[^a-z0-9]+", "-", local.encode("ascii", "ignore").decode().lower()).strip("-")
    return f"{(base or 'org')[:40]}-{secrets.token_hex(3)}"
