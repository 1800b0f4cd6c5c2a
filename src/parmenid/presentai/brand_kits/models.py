"""Brand kits: an organization's corporate style, applied when a deck is rendered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class BrandKit(TimestampMixin, Base):
    __tablename__ = "brand_kits"
    __table_args__ = (Index("ix_brand_kits_org", "organization_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    # The organization's default (at most one per organization; the service keeps it so).
    is_default: Mapped[bool] = mapped_column(default=False)
    # {"primary", "secondary", "accent", "background", "text"}: "#RRGGBB"
    colors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"heading": family, "body": family}
    fonts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    logo_storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    logo_content_type: Mapped[str | None] = mapped_column(String(100), default=None)
    footer_text: Mapped[str | None] = mapped_column(String(300), default=None)
    # {"title": "title", "content": "bullets", ...}: layout names preferred per slide role
    default_layouts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where source attributions go: "footnotes" (on the slide) or "notes" (speaker notes).
    attribution: Mapped[str] = mapped_column(String(20), default="footnotes")
    template_storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    template_filename: Mapped[str | None] = mapped_column(String(300), default=None)
    # What validation found in the template: slide size, layout names, theme fonts/colors.
    template_info: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
