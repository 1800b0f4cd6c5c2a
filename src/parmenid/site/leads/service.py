"""Plan requests: stored first, then admins are alerted through the durable outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.config import TelegramSettings
from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, Text, not_found
from parmenid.identity.models import User
from parmenid.notify.telegram import enqueue_admin_alert, escape
from parmenid.site.leads.models import (
    ALLOWED_TRANSITIONS,
    PlanRequest,
    PlanRequestStatus,
    RequestType,
)
from parmenid.site.leads.schemas import PlanRequestCreate

TYPE_TITLES = {
    RequestType.DEMO_REQUEST: "Запрос демо",
    RequestType.CONTACT_SALES: "Связь с отделом продаж",
    RequestType.PLAN_UPGRADE: "Повышение тарифа",
}


@dataclass(frozen=True)
class Origin:
    """Where a lead came from (kept for abuse handling and for the sales team)."""

    ip: str | None = None
    user_agent: str | None = None
    language: str | None = None
    chat_session_id: uuid.UUID | None = None


class PlanRequestService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, data: PlanRequestCreate, origin: Origin, telegram: TelegramSettings
    ) -> PlanRequest:
        """Store the lead and queue one Telegram alert per admin chat, in one transaction."""
        lead = PlanRequest(
            request_type=data.request_type.value,
            contact_email=data.contact_email,
            contact_phone=data.contact_phone,
            contact_telegram=data.contact_telegram,
            message=data.message,
            requested_plan=data.requested_plan.value if data.requested_plan else None,
            client_ip=origin.ip,
            user_agent=(origin.user_agent or "")[:400] or None,
            language=origin.language,
            chat_session_id=origin.chat_session_id,
        )
        self.session.add(lead)
        await self.session.flush()
        enqueue_admin_alert(self.session, telegram, admin_alert_text(lead))
        return lead

    async def get(self, request_id: uuid.UUID) -> PlanRequest:
        lead = await self.session.get(PlanRequest, request_id)
        if lead is None:
            raise not_found("Plan request", "Заявка")
        return lead

    async def list(
        self,
        *,
        status: PlanRequestStatus | None,
        request_type: RequestType | None,
        limit: int,
        offset: int,
    ) -> tuple[list[PlanRequest], int]:
        """Newest first, filtered by status and type."""
        query = select(PlanRequest)
        if status is not None:
            query = query.where(PlanRequest.status == status.value)
        if request_type is not None:
            query = query.where(PlanRequest.request_type == request_type.value)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(PlanRequest.created_at.desc(), PlanRequest.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all()), int(total or 0)

    async def change_status(
        self, request_id: uuid.UUID, new_status: PlanRequestStatus, admin: User
    ) -> PlanRequest:
        """Move along new → in_progress → completed; anything else is refused with 409."""
        lead = await self.get(request_id)
        current = PlanRequestStatus(lead.status)
        if new_status == current:
            return lead
        allowed = ALLOWED_TRANSITIONS[current]
        if new_status not in allowed:
            options = ", ".join(sorted(s.value for s in allowed)) or "—"
            raise Conflict(
                Text(
                    f"Cannot change status from {current.value} to {new_status.value}; "
                    f"allowed next: {options}.",
                    f"Нельзя перевести заявку из статуса {current.value} в {new_status.value}; "
                    f"допустимо: {options}.",
                ),
                extra={
                    "current": current.value,
                    "requested": new_status.value,
                    "allowed": sorted(s.value for s in allowed),
                },
                site_code="INVALID_STATUS_TRANSITION",
            )
        lead.status = new_status.value
        lead.status_changed_at = utcnow()
        lead.handled_by_id = admin.id
        await self.session.flush()
        return lead


def admin_alert_text(lead: PlanRequest) -> str:
    """The Telegram message (HTML) that tells admins about a new lead."""
    lines = [f"🆕 <b>Новая заявка: {escape(TYPE_TITLES[RequestType(lead.request_type)])}</b>"]
    if lead.requested_plan:
        lines.append(f"Тариф: <b>{escape(lead.requested_plan)}</b>")
    if lead.contact_email:
        lines.append(f"Email: {escape(lead.contact_email)}")
    if lead.contact_phone:
        lines.append(f"Телефон: {escape(lead.contact_phone)}")
    if lead.contact_telegram:
        lines.append(f"Telegram: {escape(lead.contact_telegram)}")
    if lead.message:
        lines.append(f"Сообщение: {escape(lead.message)}")
    lines.append(f"ID: <code>{lead.id}</code>")
    return "\n".join(lines)
