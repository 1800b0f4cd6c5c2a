"""Slides of a presentation and every version of their content.

A slide's content is a JSON document:
``{"bullets": [{"text", "attribution"}], "speaker_notes": str, "layout_data": {...}}`` where an
attribution is ``{"document_id", "document", "chunk_id", "location", "citation", "excerpt"}``
(or null for a bullet a person wrote). Every change of title, layout or content, by a person or a
job, adds a `SlideVersion` recording who made it and why; the slide row holds the latest.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class SlideStatus(enum.StrEnum):
    EMPTY = "empty"  # added by a person, not written yet
    PENDING = "pending"  # waiting for its generation job
    GENERATING = "generating"
    READY = "ready"
    FAILED = "failed"


class SlideLayout(enum.StrEnum):
    TITLE = "title"
    SECTION = "section"
    BULLETS = "bullets"
    TWO_COLUMNS = "two_columns"
    QUOTE = "quote"
    IMAGE_TEXT = "image_text"
    TABLE = "table"
    CHART = "chart"
    CLOSING = "closing"


class Slide(TimestampMixin, Base):
    __tablename__ = "slides"
    __table_args__ = (Index("ix_slides_presentation_position", "presentation_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column()  # 1-based slide number
    title: Mapped[str] = mapped_column(String(300), default="")
    layout: Mapped[str] = mapped_column(String(30), default=SlideLayout.BULLETS.value)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=SlideStatus.EMPTY.value)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int] = mapped_column(default=0)  # the latest SlideVersion.version
    # The outline item it was generated from: {"title", "key_points": [...]}.
    brief: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # The generation job that last wrote it: a resumed job skips slides it already wrote.
    generated_by_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SlideVersion(TimestampMixin, Base):
    __tablename__ = "slide_versions"
    __table_args__ = (UniqueConstraint("slide_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slide_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slides.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300), default="")
    layout: Mapped[str] = mapped_column(String(30))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Who: a user, an API key or a job (exactly one of the ids is set for user/key/job).
    author_kind: Mapped[str] = mapped_column(String(20))  # user | api_key | job
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    author_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Why: created | edited | generated | regenerated | restored | duplicated
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text, default=None)  # instruction, "from v2", ...
