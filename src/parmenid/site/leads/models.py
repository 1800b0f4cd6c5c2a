"""Lead requests from the corporate site ("plan requests")."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, TimestampMixin, new_id, utcnow


class RequestType(enum.StrEnum):
    DEMO_REQUEST = "demo_request"
    CONTACT_SALES = "contact_sales"
    PLAN_UPGRADE = "plan_upgrade"


class PlanRequestStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Plan(enum.StrEnum):
    FREE = "free"
    STARTER = "starter"
    GROWTH = "growth"
    SCALE = "scale"
    ENTERPRISE = "enterprise"


# The admin workflow: new → in_progress → completed.
ALLOWED_TRANSITIONS: dict[PlanRequestStatus, frozenset[PlanRequestStatus]] = {
    PlanRequestStatus.NEW: frozenset({PlanRequestStatus.IN_PROGRESS}),
    PlanRequestStatus.IN_PROGRESS: frozenset({PlanRequestStatus.COMPLETED}),
    PlanRequestStatus.COMPLETED: frozenset(),
}


class PlanRequest(TimestampMixin, Base):
    __tablename__ = "plan_requests"
    __table_args__ = (Index("ix_plan_requests_listing", "status", "request_type", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=PlanRequestStatus.NEW.value)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    contact_telegram: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    requested_plan: Mapped[str | None] = mapped_column(String(20), default=None)
    client_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    # Set when the lead was captured by the chat bot.
    chat_session_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    handled_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
