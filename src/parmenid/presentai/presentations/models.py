"""Presentations: a title and generation parameters in a project, and where generation is."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class PresentationStatus(enum.StrEnum):
    DRAFT = "draft"
    OUTLINE_GENERATING = "outline_generating"
    OUTLINE_READY = "outline_ready"
    SLIDES_GENERATING = "slides_generating"
    READY = "ready"
    FAILED = "failed"


class Presentation(TimestampMixin, Base):
    __tablename__ = "presentations"
    __table_args__ = (
        Index("ix_presentations_org_created", "organization_id", "created_at"),
        Index("ix_presentations_project", "project_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    # tone, audience, slide_count (1–50), language, brand_kit_id
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(30), default=PresentationStatus.DRAFT.value)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)  # soft delete
