"""`/api/v1/organizations/{id}/audit-logs`: read and export the audit log (admins, owners)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from parmenid.core.downloads import PreparedFile
from parmenid.core.errors import Text, ValidationFailed, not_found
from parmenid.core.web import require_json
from parmenid.identity.audit import AuditFilter, AuditLog, AuditRecord
from parmenid.identity.exports import AUDIT_LOG, filter_parameters, request_file
from parmenid.identity.models import Role, User
from parmenid.presentai.authz import OrgAccess, in_organization
from parmenid.presentai.downloads import PreparedFileOut, describe
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(
    prefix="/organizations/{organization_id}/audit-logs",
    tags=["Organizations"],
    dependencies=[Depends(require_json)],
)

AuditReader = Annotated[OrgAccess, Depends(in_organization(Role.ADMIN, "audit:read"))]
NAIVE_TIME = Text(
    "Give since/until with a time zone (e.g. 2026-01-01T00:00:00Z).",
    "Укажите since/until с часовым поясом (например, 2026-01-01T00:00:00Z).",
)
ActorType = Literal["user", "api_key", "system", "anonymous"]


class Actor(BaseModel):
    type: str
    id: uuid.UUID | None
    email: str | None = Field(description="The user's current e-mail; null once erased.")


class Target(BaseModel):
    type: str | None
    id: str | None


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: datetime
    actor: Actor
    action: str
    target: Target
    changes: dict[str, Any]
    ip: str | None
    user_agent: str | None
    request_id: str | None


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


class AuditQuery(BaseModel):
    """Filters: all optional; `action` matches exactly, or by prefix when it ends with `*`."""

    actor_id: uuid.UUID | None = None
    actor_type: ActorType | None = None
    action: str | None = Field(default=None, max_length=100)
    target_type: str | None = Field(default=None, max_length=50)
    target_id: str | None = Field(default=None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> AuditFilter:
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise ValidationFailed(NAIVE_TIME)
        return AuditFilter(**self.model_dump())


async def _entries(session: SessionDep, records: list[AuditRecord]) -> list[AuditEntryOut]:
    user_ids = {r.actor_id for r in records if r.actor_type == "user" and r.actor_id}
    emails: dict[uuid.UUID, str] = {}
    if user_ids:
        rows = await session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
        emails = {user_id: email for user_id, email in rows.all()}
    return [
        AuditEntryOut(
            id=r.id,
            occurred_at=r.occurred_at,
            actor=Actor(
                type=r.actor_type,
                id=r.actor_id,
                email=emails.get(r.actor_id) if r.actor_id else None,
            ),
            action=r.action,
            target=Target(type=r.target_type, id=r.target_id),
            changes=r.changes,
            ip=r.ip,
            user_agent=r.user_agent,
            request_id=r.request_id,
        )
        for r in records
    ]


@router.get("", response_model=AuditPageOut)
async def list_audit_log(
    access: AuditReader,
    session: SessionDep,
    query: Annotated[AuditQuery, Query()],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """Newest first, `limit` at a time; follow `next_cursor` for older entries."""
    page = await AuditLog(session).page(access.organization.id, query.where(), cursor, limit)
    return AuditPageOut(items=await _entries(session, page.items), next_cursor=page.next_cursor)


def _status_url(request: Request, organization_id: uuid.UUID, file_id: uuid.UUID) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/api/v1/organizations/{organization_id}/audit-logs/exports/{file_id}"


@router.post("/export", status_code=202, response_model=PreparedFileOut)
async def export_audit_log(
    access: AuditReader,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
    body: AuditQuery | None = None,
) -> PreparedFileOut:
    """Starts a CSV export of the entries matching the filters; poll `status_url`, then
    fetch `download_url`. Cells a spreadsheet would run as formulas are escaped."""
    where = (body or AuditQuery()).where()
    prepared = request_file(
        session,
        kind=AUDIT_LOG,
        requested_by_id=access.caller.user.id if access.caller.user else None,
        organization_id=access.organization.id,
        filename=f"audit-log-{access.organization.slug}.csv",
        content_type="text/csv; charset=utf-8",
        parameters=filter_parameters(where),
    )
    await session.flush()
    access.caller.audit(
        "audit_log.exported",
        target_type="prepared_file",
        target_id=prepared.id,
        changes={"filters": prepared.parameters},
    )
    return describe(prepared, _status_url(request, access.organization.id, prepared.id), runtime)


@router.get("/exports/{file_id}", response_model=PreparedFileOut)
async def audit_export_status(
    file_id: uuid.UUID,
    access: AuditReader,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> PreparedFileOut:
    """The export's state; once ready, a fresh signed `download_url` each time."""
    prepared = await session.get(PreparedFile, file_id)
    if prepared is None or prepared.organization_id != access.organization.id:
        raise not_found("Export", "Экспорт")
    return describe(prepared, _status_url(request, access.organization.id, file_id), runtime)
