"""Export jobs: a presentation rendered to a file (or a Google Slides deck), and where it is."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class ExportFormat(enum.StrEnum):
    PPTX = "pptx"
    PDF = "pdf"
    PNG = "png"
    GOOGLE_SLIDES = "google_slides"


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ExportJob(TimestampMixin, Base):
    __tablename__ = "export_jobs"
    __table_args__ = (Index("ix_export_jobs_presentation", "presentation_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    format: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ExportStatus.QUEUED.value)
    brand_kit_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # The rendered file in object storage (PNG: a ZIP of one image per slide).
    storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    filename: Mapped[str | None] = mapped_column(String(300), default=None)
    content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    thumbnail_storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    slide_count: Mapped[int | None] = mapped_column(default=None)
    google_file_id: Mapped[str | None] = mapped_column(String(200), default=None)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    events_published: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The file is kept until then; its download links answer 410 `gone` after.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
