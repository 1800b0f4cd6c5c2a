"""Generation jobs: what a `job_id` of the progress stream is.

The queue row (`core.jobs.Job`) carries only this row's id; this row says which presentation
(and organization) the job belongs to, so a WebSocket subscriber can be authorized, and it keeps
the job's progress and outcome for clients that reconnect after the stream is gone.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class GenerationKind(enum.StrEnum):
    OUTLINE = "outline"
    SLIDES = "slides"
    SLIDE = "slide"  # one slide regenerated


class GenerationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class GenerationJob(TimestampMixin, Base):
    __tablename__ = "generation_jobs"
    __table_args__ = (Index("ix_generation_jobs_presentation", "presentation_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    presentation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("presentations.id", ondelete="CASCADE")
    )
    slide_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=GenerationStatus.QUEUED.value)
    instruction: Mapped[str | None] = mapped_column(Text, default=None)
    progress_pct: Mapped[int] = mapped_column(default=0)
    # How many events the job has published: each event carries its `seq`, so a subscriber
    # that sees a jump knows events were lost (e.g. Redis restarted) and must reload state.
    events_published: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
