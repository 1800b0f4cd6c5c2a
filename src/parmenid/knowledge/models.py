"""Source documents: uploaded or imported files and their ingestion state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class IngestionStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"


class SourceDocument(TimestampMixin, Base):
    __tablename__ = "source_documents"
    __table_args__ = (Index("ix_source_documents_org_created", "organization_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(20), default=None)  # sniffed: pdf, docx, ...
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(Text, default=None)
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    page_count: Mapped[int | None] = mapped_column(default=None)
    ingestion_status: Mapped[str] = mapped_column(String(20), default=IngestionStatus.PENDING.value)
    chunks_created: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    indexed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
