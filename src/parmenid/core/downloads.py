"""Files that a job prepares for one person to download, and the signed links to them.

A link is `<id>.<expiry>.<signature>` (HMAC-SHA256 with the app secret): it works without a
session, so it can be opened in a browser or handed to `curl`, and it expires. A fresh link can
be asked for at any time while the file is kept (`expires_at`).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id


class FileStatus(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class PreparedFile(TimestampMixin, Base):
    __tablename__ = "prepared_files"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(50))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(20), default=FileStatus.PENDING.value)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    storage_key: Mapped[str | None] = mapped_column(String(300), default=None)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class SignedLink:
    file_id: uuid.UUID
    variant: str | None  # a second file of the same thing (an export's "thumbnail"), or None
    expires: int  # Unix seconds


@dataclass(frozen=True)
class LinkSigner:
    """Links are `<id>.<expiry>.<signature>`, or `<id>-<variant>.<expiry>.<signature>` for
    another file of the same thing (e.g. an export's thumbnail)."""

    secret: str

    def sign(
        self, file_id: uuid.UUID, ttl_seconds: int, variant: str | None = None
    ) -> tuple[str, int]:
        if variant is not None and not variant.isalpha():
            raise ValueError(f"a link variant is a word: {variant!r}")
        expires = int(time.time()) + ttl_seconds
        subject = file_id.hex if variant is None else f"{file_id.hex}-{variant}"
        payload = f"{subject}.{expires}"
        return f"{payload}.{self._mac(payload)}", expires

    def verify(self, token: str) -> tuple[uuid.UUID, int] | None:
        """The file id and expiry of a genuine link to a whole file (expired or not), else
        None."""
        link = self.verify_link(token)
        if link is None or link.variant is not None:
            return None
        return link.file_id, link.expires

    def verify_link(self, token: str) -> SignedLink | None:
        """What a genuine link (expired or not) points to, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._mac(payload).encode(), parts[2].encode()):
            return None
        subject, _, variant = parts[0].partition("-")
        try:
            return SignedLink(uuid.UUID(hex=subject), variant or None, int(parts[1]))
        except ValueError:
            return None

    def _mac(self, payload: str) -> str:
        digest = hmac.new(
            hashlib.sha256(b"downloads:" + self.secret.encode()).digest(),
            payload.encode(),
            hashlib.sha256,
        ).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
