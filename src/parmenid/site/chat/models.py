"""Chat bots ("avatars") of an organization, their knowledge, and visitors' conversations."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class Avatar(TimestampMixin, Base):
    __tablename__ = "avatars"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    avatar_image_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    primary_color: Mapped[str] = mapped_column(String(7), default="#3B82F6")
    welcome_message: Mapped[str] = mapped_column(String(500), default="")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="ru")
    # Origins allowed to call the public chat API; empty means any (the list fails closed).
    allowed_origins: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"origins": [...]}
    is_active: Mapped[bool] = mapped_column(default=True)
    max_messages_per_session: Mapped[int] = mapped_column(default=50)
    max_message_chars: Mapped[int] = mapped_column(default=2000)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def origins(self) -> list[str]:
        return list(self.allowed_origins.get("origins", []))


class AvatarDocument(TimestampMixin, Base):
    """A knowledge document an avatar answers from (a source document of its organization)."""

    __tablename__ = "avatar_documents"
    __table_args__ = (UniqueConstraint("avatar_id", "document_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    avatar_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("avatars.id", ondelete="CASCADE"), index=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("source_documents.id", ondelete="CASCADE"), index=True
    )


class ChatSession(TimestampMixin, Base):
    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_avatar_created", "avatar_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    avatar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("avatars.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20), default="web")
    is_active: Mapped[bool] = mapped_column(default=True)
    messages_count: Mapped[int] = mapped_column(default=0)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    origin: Mapped[str | None] = mapped_column(String(300), default=None)
    last_message_at: Mapped[datetime | None] = mapped_column(default=None)


class MessageStatus(enum.StrEnum):
    COMPLETE = "complete"
    GENERATING = "generating"  # the answer is being written
    FAILED = "failed"  # the providers failed; the text explains it to the visitor


class ChatMessage(TimestampMixin, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_session_created", "session_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(20))  # user | assistant
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=MessageStatus.COMPLETE.value)
    tokens_used: Mapped[int | None] = mapped_column(default=None)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"items": [...]}
    provider: Mapped[str | None] = mapped_column(String(40), default=None)
    lead_offer: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
