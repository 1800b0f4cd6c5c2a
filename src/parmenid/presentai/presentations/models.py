"""Presentations: a title and generation parameters in a project, their sources, and where
generation is."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class PresentationStatus(enum.StrEnum):
    DRAFT = "draft"
    OUTLINE_GENERATING = "outline_generating"
    OUTLINE_READY = "outline_ready"
    SLIDES_GENERATING = "slides_generating"
    READY = "ready"
    FAILED = "failed"


GENERATING = frozenset(
    {PresentationStatus.OUTLINE_GENERATING.value, PresentationStatus.SLIDES_GENERATING.value}
)


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
    # {"items": [{"slide_number", "title", "key_points": [{"text", "attribution"}]}]}
    outline: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # {"items": [{"code", "message", "at"}]}: e.g. generated without the search index
    warnings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The latest generation job (outline, slides or one slide), for the editor's progress bar.
    current_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Title, outline and slide text, case-folded in Python (SQLite's lower() knows only ASCII).
    search_text: Mapped[str] = mapped_column(Text, default="")


class PresentationSource(TimestampMixin, Base):
    """A source document used by a presentation. One document may serve several presentations
    (a duplicate shares its original's documents); its file and vectors go when the last
    presentation using it lets it go."""

    __tablename__ = "presentation_sources"
    __table_args__ = (
        UniqueConstraint("presentation_id", "document_id"),
        Index("ix_presentation_sources_document", "document_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("source_documents.id", ondelete="CASCADE")
    )
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
