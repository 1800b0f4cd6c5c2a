"""API keys: organization-bound credentials with scopes, for integrations.

Rules that are not obvious from the code:
* A key reads `pai_<public id>_<secret>`. The public id is stored as is, so a key is
  recognisable in logs and found by index; the secret only as its SHA-256 (it is 256 random
  bits, so a slow hash would add nothing).
* The secret is shown once, at creation or rotation. Rotation replaces it; the old secret keeps
  working only for the grace period asked for (0 by default: it dies at once).
* A verified key is cached in the process for `api_key_cache_seconds`. Revoking or rotating
  clears this process's cache; other processes notice within the TTL.
* `last_used_at` is written at most once a minute per key, and a use from an address the key has
  not been used from before is a security event in the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, Database, TimestampMixin, new_id, utcnow
from parmenid.core.errors import Text, Unauthorized, ValidationFailed
from parmenid.identity.audit import Actor, AuditLog

KEY_PREFIX = "pai_"
LAST_USED_GRANULARITY = timedelta(minutes=1)
KNOWN_ADDRESSES_KEPT = 50

SCOPES: dict[str, str] = {
    "presentations:read": "Read presentations, their slides and sources",
    "presentations:write": "Create, edit, generate and delete presentations",
    "exports:write": "Start exports and read their results",
    "webhooks:read": "List webhook subscriptions and deliveries",
    "webhooks:write": "Create, change and delete webhook subscriptions",
    "organizations:read": "Read the organization and its members",
    "usage:read": "Read token usage",
    "audit:read": "Read and export the audit log",
}

INVALID_KEY = Text(
    "The API key is invalid, expired or revoked.",
    "API-ключ недействителен, истёк или отозван.",
)


class ApiKey(TimestampMixin, Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(default=None)
    scopes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"granted": [...]}
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    known_ips: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"addresses": [...]}

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}{self.public_id}"

    @property
    def granted(self) -> list[str]:
        return list(self.scopes.get("granted", []))

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class KeyPrincipal:
    """An API key as it authenticates a request."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: frozenset[str]
    created_by_id: uuid.UUID | None


@dataclass
class _Cached:
    principal: KeyPrincipal
    expires_at: datetime | None
    valid_until: datetime | None  # set when this is a rotated-out secret in its grace period
    last_used_at: datetime | None
    known_ips: set[str]
    cached_at: float


@dataclass
class KeyUse:
    """What the request must record after a key was accepted (written outside its session)."""

    principal: KeyPrincipal
    ip: str | None
    touch: bool
    new_address: bool


@dataclass
class ApiKeyCache:
    ttl_seconds: float
    _entries: dict[str, _Cached] = field(default_factory=dict)

    def get(self, digest: str) -> _Cached | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry.cached_at > self.ttl_seconds:
            self._entries.pop(digest, None)
            return None
        return entry

    def put(self, digest: str, entry: _Cached) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = entry

    def forget(self, key_id: uuid.UUID) -> None:
        for digest in [d for d, e in self._entries.items() if e.principal.id == key_id]:
            del self._entries[digest]


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the whole `pai_...` string, shown once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(presented: str) -> tuple[str, str] | None:
    if not presented.startswith(KEY_PREFIX):
        return None
    public_id, sep, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not sep or not public_id or not secret or len(presented) > 200:
        return None
    return public_id, secret


def _new_secret(public_id: str) -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{public_id}_{secret}", _digest(secret)


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise ValidationFailed(
            Text(
                f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(SCOPES)}.",
                f"Неизвестные scope: {', '.join(unknown)}. Допустимые: {', '.join(SCOPES)}.",
            )
        )
    if not scopes:
        raise ValidationFailed(
            Text("Give the key at least one scope.", "Укажите хотя бы один scope.")
        )
    return sorted(set(scopes))


class ApiKeyService:
    def __init__(self, session: AsyncSession, cache: ApiKeyCache | None = None) -> None:
        self.session = session
        self.cache = cache

    async def create(
        self,
        organization_id: uuid.UUID,
        created_by_id: uuid.UUID,
        name: str,
        scopes: list[str],
        expires_at: datetime | None,
    ) -> IssuedKey:
        if expires_at is not None and expires_at <= utcnow():
            raise ValidationFailed(
                Text("expires_at must be in the future.", "expires_at должен быть в будущем.")
            )
        public_id = secrets.token_hex(6)
        secret, digest = _new_secret(public_id)
        key = ApiKey(
            organization_id=organization_id,
            created_by_id=created_by_id,
            name=name.strip(),
            public_id=public_id,
            secret_hash=digest,
            scopes={"granted": check_scopes(scopes)},
            expires_at=expires_at,
            known_ips={"addresses": []},
        )
        self.session.add(key)
        await self.session.flush()
        return IssuedKey(key, secret)

    async def of_organizations(
        self, organization_ids: list[uuid.UUID], *, include_revoked: bool
    ) -> list[ApiKey]:
        query = select(ApiKey).where(ApiKey.organization_id.in_(organization_ids))
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        return list((await self.session.scalars(query.order_by(ApiKey.created_at.desc()))).all())

    async def rotate(self, key: ApiKey, grace: timedelta) -> IssuedKey:
        """A new secret; the old one works for `grace` more (not at all when it is zero)."""
        now = utcnow()
        secret, digest = _new_secret(key.public_id)
        key.previous_secret_hash = key.secret_hash if grace > timedelta(0) else None
        key.previous_valid_until = now + grace if grace > timedelta(0) else None
        key.secret_hash = digest
        key.rotated_at = now
        await self.session.flush()
        self._forget(key.id)
        return IssuedKey(key, secret)

    async def revoke(self, key: ApiKey) -> None:
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            key.previous_secret_hash = None
            key.previous_valid_until = None
            await self.session.flush()
        self._forget(key.id)

    async def revoke_created_by(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        ids = list(
            (
                await self.session.scalars(
                    select(ApiKey.id).where(
                        ApiKey.created_by_id == user_id, ApiKey.revoked_at.is_(None)
                    )
                )
            ).all()
        )
        if ids:
            await self.session.execute(
                update(ApiKey)
                .where(ApiKey.id.in_(ids))
                .values(revoked_at=utcnow(), previous_secret_hash=None, previous_valid_until=None)
            )
        for key_id in ids:
            self._forget(key_id)
        return ids

    def _forget(self, key_id: uuid.UUID) -> None:
        if self.cache is not None:
            self.cache.forget(key_id)


async def _load(session: AsyncSession, public_id: str, digest: str) -> _Cached | None:
    key = await session.scalar(
        select(ApiKey).where(ApiKey.public_id == public_id, ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    if hmac.compare_digest(key.secret_hash, digest):
        valid_until = None
    elif key.previous_secret_hash is not None and hmac.compare_digest(
        key.previous_secret_hash, digest
    ):
        valid_until = key.previous_valid_until
    else:
        return None
    principal = KeyPrincipal(
        id=key.id,
        organization_id=key.organization_id,
        name=key.name,
        prefix=key.prefix,
        scopes=frozenset(key.granted),
        created_by_id=key.created_by_id,
    )
    return _Cached(
        principal,
        key.expires_at,
        valid_until,
        key.last_used_at,
        set(key.known_ips.get("addresses", [])),
        time.monotonic(),
    )


async def authenticate_key(
    db: Database, cache: ApiKeyCache, presented: str, ip: str | None
) -> KeyPrincipal:
    """The key behind `presented`, or 401 (never saying why). A cached key costs no query; a
    lookup and the use record run in short transactions of their own, so a request that fails
    later does not lose the record."""
    parts = _split(presented)
    if parts is None:
        raise Unauthorized(INVALID_KEY)
    public_id, secret = parts
    digest = _digest(secret)
    cache_key = f"{public_id}:{digest}"
    entry = cache.get(cache_key)
    if entry is None:
        async with db.session() as session:
            entry = await _load(session, public_id, digest)
        if entry is None:
            raise Unauthorized(INVALID_KEY)
        cache.put(cache_key, entry)
    now = utcnow()
    if (entry.expires_at is not None and entry.expires_at <= now) or (
        entry.valid_until is not None and entry.valid_until <= now
    ):
        raise Unauthorized(INVALID_KEY)
    new_address = ip is not None and ip not in entry.known_ips
    if (
        new_address
        or entry.last_used_at is None
        or (now - entry.last_used_at >= LAST_USED_GRANULARITY)
    ):
        entry.last_used_at = now
        if ip is not None:
            entry.known_ips.add(ip)
        async with db.session() as session:
            await _record_use(session, KeyUse(entry.principal, ip, True, new_address))
    return entry.principal


async def _record_use(session: AsyncSession, use: KeyUse) -> None:
    key = await session.get(ApiKey, use.principal.id)
    if key is None:
        return
    key.last_used_at = utcnow()
    key.last_used_ip = use.ip
    addresses = list(key.known_ips.get("addresses", []))
    if use.ip is not None and use.ip not in addresses:
        key.known_ips = {"addresses": [*addresses, use.ip][-KNOWN_ADDRESSES_KEPT:]}
        await AuditLog(session).record(
            actor=Actor.key(use.principal.id),
            action="security.api_key_new_ip",
            organization_id=use.principal.organization_id,
            target_type="api_key",
            target_id=str(use.principal.id),
            changes={"key_prefix": use.principal.prefix},
            ip=use.ip,
        )
