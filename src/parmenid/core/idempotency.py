"""`Idempotency-Key` for POST requests, after the IETF draft (httpapi-idempotency-key-header).

* The first request with a key marks it in flight (committed at once, so a concurrent twin sees
  it), runs, and if it succeeds (2xx) its response is stored with the key.
* The same key with the same request replays the stored response (`Idempotent-Replayed: true`);
  with a different request it is refused (422); while the first is still running, 409.
* A request that fails releases the key, so it can be retried as it is.
* Keys are scoped to the principal and kept for `ttl`; a key held by a process that died is
  taken over once its lock lapses.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parmenid.core.db import Base, Database, new_id, utcnow
from parmenid.core.errors import BadRequest, Conflict, Text, ValidationFailed

HEADER = "idempotency-key"
LOCK = timedelta(minutes=2)
NOT_REPLAYED = {b"x-request-id", b"date", b"server", b"content-length", b"set-cookie"}
NOT_REPLAYED_PREFIXES = (b"ratelimit",)

BAD_KEY = Text(
    "Idempotency-Key must be 1–255 visible ASCII characters.",
    "Idempotency-Key — от 1 до 255 видимых ASCII-символов.",
)
IN_FLIGHT = Text(
    "A request with this Idempotency-Key is still being processed. Retry in a moment.",
    "Запрос с этим Idempotency-Key ещё выполняется. Повторите чуть позже.",
)
REUSED = Text(
    "This Idempotency-Key was already used for a different request.",
    "Этот Idempotency-Key уже использован для другого запроса.",
)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    principal: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Replay(Exception):
    """Raised when a stored response answers the request; the app sends it as it was."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super().__init__("idempotent replay")
        self.status = status
        self.headers = headers
        self.body = body


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def valid_key(value: str) -> str:
    if not 1 <= len(value) <= 255 or not all(33 <= ord(c) <= 126 for c in value):
        raise BadRequest(BAD_KEY)
    return value


@dataclass
class IdempotencyStore:
    db: Database
    ttl: timedelta

    async def begin(self, principal: str, key: str, print_: str) -> uuid.UUID:
        """Claim `key` for this request, or raise `Replay`, 409 or 422."""
        now = utcnow()
        async with self.db.session() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.expires_at <= now
                )
            )
            record = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
                )
            )
            if record is not None:
                if record.fingerprint != print_:
                    raise ValidationFailed(REUSED, extra={"idempotency_key": key})
                if record.response_status is not None:
                    raise Replay(
                        record.response_status,
                        [(k, v) for k, v in (record.response_headers or {}).get("list", [])],
                        record.response_body or b"",
                    )
                if record.locked_until is not None and record.locked_until > now:
                    raise Conflict(IN_FLIGHT, headers={"Retry-After": "1"})
                record.locked_until = now + LOCK  # its first holder died: take it over
                return record.id
            record = IdempotencyRecord(
                principal=principal,
                key=key,
                fingerprint=print_,
                locked_until=now + LOCK,
                expires_at=now + self.ttl,
            )
            session.add(record)
            try:
                await session.flush()
            except IntegrityError as exc:  # a twin claimed it between our read and write
                raise Conflict(IN_FLIGHT, headers={"Retry-After": "1"}) from exc
            return record.id

    async def complete(
        self, record_id: uuid.UUID, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        async with self.db.session() as session:
            record = await session.get(IdempotencyRecord, record_id)
            if record is not None:
                record.response_status = status
                record.response_headers = {"list": [list(pair) for pair in headers]}
                record.response_body = body
                record.locked_until = None

    async def release(self, record_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            await session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
            )


STATE_KEY = "idempotency_record"


class IdempotencyMiddleware:
    """Stores the response of a request that claimed a key (see `IdempotencyStore.begin`).

    The response is held back until it is stored, so a retry never finds the key in flight
    after the client has seen the answer.
    """

    def __init__(self, app: ASGIApp, store: Callable[[Scope], IdempotencyStore]) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        held: list[Message] = []

        async def capture(message: Message) -> None:
            record_id = scope.get("state", {}).get(STATE_KEY)
            if record_id is None:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await self._settle(scope, record_id, held)
                for pending in held:
                    await send(pending)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            record_id = scope.get("state", {}).get(STATE_KEY)
            if record_id is not None and not held:
                await self.store(scope).release(record_id)
            raise

    async def _settle(self, scope: Scope, record_id: uuid.UUID, held: list[Message]) -> None:
        start = held[0]
        status = int(start["status"])
        store = self.store(scope)
        scope["state"][STATE_KEY] = None
        if not 200 <= status < 300:
            await store.release(record_id)
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in start.get("headers", [])
            if k.lower() not in NOT_REPLAYED and not k.lower().startswith(NOT_REPLAYED_PREFIXES)
        ]
        body = b"".join(m.get("body", b"") for m in held[1:])
        await store.complete(record_id, status, headers, body)


async def claim(
    store: IdempotencyStore,
    state: dict[str, Any],
    principal: str,
    key: str,
    print_: str,
) -> None:
    """Claim `key` for the request whose ASGI state is `state` (the middleware settles it)."""
    state[STATE_KEY] = await store.begin(principal, valid_key(key), print_)
