"""The audit log: who did what to which thing, from where, and when. Append-only.

Rules that are not obvious from the code:
* Rows are never updated or deleted by the application; database triggers refuse it too.
  Rows carry no foreign keys, so they outlive the organization or user they mention.
* A person's address and user agent are personal data, yet the log may not be edited. They are
  sealed (AES-GCM) under a key kept per user; erasing the user deletes the key, and the sealed
  values become unreadable ("crypto-shredding"). The rest of the row names people by id only,
  and summaries of changes to personal fields list the fields, not the values.
* Entries of API keys and of anonymous callers keep the address in the clear.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, utcnow
from parmenid.core.errors import Text, ValidationFailed

ERASED = "[erased]"


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    target_type: Mapped[str | None] = mapped_column(String(50), default=None)
    target_id: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    sealed_client: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    request_id: Mapped[str | None] = mapped_column(String(100), default=None)


class PersonalDataKey(Base):
    """The key that seals a user's addresses in the audit log; deleted when the user is erased."""

    __tablename__ = "personal_data_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Actor:
    type: str  # user | api_key | system | anonymous
    id: uuid.UUID | None

    @classmethod
    def user(cls, user_id: uuid.UUID) -> Actor:
        return cls("user", user_id)

    @classmethod
    def key(cls, key_id: uuid.UUID) -> Actor:
        return cls("api_key", key_id)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls("anonymous", None)


@dataclass(frozen=True)
class AuditRecord:
    """An entry as an administrator reads it (sealed values opened where the key still exists)."""

    id: int
    occurred_at: datetime
    organization_id: uuid.UUID | None
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    changes: dict[str, Any]
    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True)
class AuditFilter:
    actor_id: uuid.UUID | None = None
    actor_type: str | None = None
    action: str | None = None  # exact, or a prefix ending in `*` ("member.*")
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditRecord]
    next_cursor: str | None


BAD_CURSOR = Text("The cursor is invalid.", "Некорректный курсор.")


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "a":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(BAD_CURSOR) from exc


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        actor: Actor,
        action: str,
        organization_id: uuid.UUID | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        changes: dict[str, Any] | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        request_id: str | None = None,
    ) -> None:
        entry = AuditEntry(
            organization_id=organization_id,
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=changes or {},
            request_id=request_id,
        )
        user_agent = (user_agent or "")[:400] or None
        if actor.type == "user" and actor.id is not None and (ip or user_agent):
            key = await self._key_of(actor.id, create=True)
            if key is not None:
                entry.sealed_client = _seal(key, {"ip": ip, "user_agent": user_agent})
        else:
            entry.ip, entry.user_agent = ip, user_agent
        self.session.add(entry)

    async def page(
        self, organization_id: uuid.UUID, where: AuditFilter, cursor: str | None, limit: int
    ) -> AuditPage:
        query = self._filtered(where).where(AuditEntry.organization_id == organization_id)
        if cursor:
            query = query.where(AuditEntry.id < decode_cursor(cursor))
        rows = list((await self.session.scalars(query.limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(
            await self.readable(rows), encode_cursor(rows[-1].id) if more and rows else None
        )

    async def all_of(self, organization_id: uuid.UUID, where: AuditFilter) -> list[AuditRecord]:
        query = self._filtered(where).where(AuditEntry.organization_id == organization_id)
        return await self.readable(list((await self.session.scalars(query)).all()))

    async def about_user(self, user_id: uuid.UUID) -> list[AuditRecord]:
        """Entries where the user acted or was acted upon (for the personal-data export)."""
        query = (
            select(AuditEntry)
            .where(
                or_(
                    (AuditEntry.actor_type == "user") & (AuditEntry.actor_id == user_id),
                    (AuditEntry.target_type == "user") & (AuditEntry.target_id == str(user_id)),
                )
            )
            .order_by(AuditEntry.id)
        )
        return await self.readable(list((await self.session.scalars(query)).all()))

    async def forget_user(self, user_id: uuid.UUID) -> None:
        """Make the user's sealed addresses unreadable for good (the rows stay as they are)."""
        await self.session.execute(
            delete(PersonalDataKey).where(PersonalDataKey.user_id == user_id)
        )

    def _filtered(self, where: AuditFilter) -> Any:
        query = select(AuditEntry).order_by(AuditEntry.id.desc())
        if where.actor_id is not None:
            query = query.where(AuditEntry.actor_id == where.actor_id)
        if where.actor_type is not None:
            query = query.where(AuditEntry.actor_type == where.actor_type)
        if where.action:
            if where.action.endswith("*"):
                query = query.where(
                    AuditEntry.action.startswith(where.action[:-1], autoescape=True)
                )
            else:
                query = query.where(AuditEntry.action == where.action)
        if where.target_type is not None:
            query = query.where(AuditEntry.target_type == where.target_type)
        if where.target_id is not None:
            query = query.where(AuditEntry.target_id == where.target_id)
        if where.since is not None:
            query = query.where(AuditEntry.occurred_at >= where.since)
        if where.until is not None:
            query = query.where(AuditEntry.occurred_at < where.until)
        return query

    async def readable(self, rows: Sequence[AuditEntry]) -> list[AuditRecord]:
        user_ids = {r.actor_id for r in rows if r.sealed_client is not None and r.actor_id}
        keys: dict[uuid.UUID, bytes] = {}
        if user_ids:
            found = await self.session.execute(
                select(PersonalDataKey.user_id, PersonalDataKey.key).where(
                    PersonalDataKey.user_id.in_(user_ids)
                )
            )
            keys = {user_id: key for user_id, key in found.all()}
        records = []
        for row in rows:
            ip, user_agent = row.ip, row.user_agent
            if row.sealed_client is not None:
                key = keys.get(row.actor_id) if row.actor_id else None
                opened = _open(key, row.sealed_client) if key else None
                ip = opened.get("ip") if opened else ERASED
                user_agent = opened.get("user_agent") if opened else ERASED
            records.append(
                AuditRecord(
                    id=row.id,
                    occurred_at=row.occurred_at,
                    organization_id=row.organization_id,
                    actor_type=row.actor_type,
                    actor_id=row.actor_id,
                    action=row.action,
                    target_type=row.target_type,
                    target_id=row.target_id,
                    changes=row.changes,
                    ip=ip,
                    user_agent=user_agent,
                    request_id=row.request_id,
                )
            )
        return records

    async def _key_of(self, user_id: uuid.UUID, *, create: bool) -> bytes | None:
        key: bytes | None = await self.session.scalar(
            select(PersonalDataKey.key).where(PersonalDataKey.user_id == user_id)
        )
        if key is None and create:
            # Two first requests of one user may race here: the loser keeps the winner's key.
            dialect = self.session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            await self.session.execute(
                insert(PersonalDataKey)
                .values(user_id=user_id, key=AESGCM.generate_key(bit_length=256))
                .on_conflict_do_nothing()
            )
            key = await self.session.scalar(
                select(PersonalDataKey.key).where(PersonalDataKey.user_id == user_id)
            )
        return key


def _seal(key: bytes, value: dict[str, Any]) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(value).encode(), b"audit")


def _open(key: bytes, sealed: bytes) -> dict[str, Any] | None:
    try:
        opened: dict[str, Any] = json.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], b"audit"))
    except (InvalidTag, ValueError):
        return None
    return opened
