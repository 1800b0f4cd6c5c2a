"""A person's connections to outside accounts (Google for Slides export and Drive import)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class OAuthConnection(TimestampMixin, Base):
    __tablename__ = "oauth_connections"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(30))  # google
    account_email: Mapped[str | None] = mapped_column(String(320), default=None)
    scopes: Mapped[str] = mapped_column(Text, default="")
    # Tokens are stored encrypted (AES-GCM under a key derived from the server's secret).
    access_token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthState(TimestampMixin, Base):
    """A pending authorization: the `state` sent to the provider, with its PKCE verifier."""

    __tablename__ = "oauth_states"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(30))
    code_verifier: Mapped[str] = mapped_column(String(200))
    redirect_after: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime] = mapped_column()
