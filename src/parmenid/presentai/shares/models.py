"""Public share links of presentations, and what their viewers did (no personal data)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id


class Share(TimestampMixin, Base):
    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_presentation", "presentation_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    # The token is looked up by its SHA-256; it is also kept sealed so its owners can copy the
    # link again.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    token_hint: Mapped[str] = mapped_column(String(12), default="")  # last characters, for lists
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ShareView(TimestampMixin, Base):
    """One viewing session of a shared deck. `viewer` is a keyed hash of the visitor under a
    salt that changes daily and is then forgotten, so views can be counted as unique within a
    day but never traced back to a person."""

    __tablename__ = "share_views"
    __table_args__ = (
        Index("ix_share_views_presentation_day", "presentation_id", "day"),
        Index("ix_share_views_share", "share_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column()
    viewer: Mapped[str] = mapped_column(String(64))
    # {"<slide number>": milliseconds}
    dwell_ms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_ms: Mapped[int] = mapped_column(default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class AnalyticsSalt(Base):
    """The salt of one day's viewer hashes; deleted once the day is over."""

    __tablename__ = "analytics_salts"
    __table_args__ = (UniqueConstraint("day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    day: Mapped[date] = mapped_column()
    salt: Mapped[bytes] = mapped_column(LargeBinary)
