"""Files built by jobs for people to download: personal-data archives and audit-log CSVs.

The audit CSV follows RFC 4180 (CRLF line ends, fields quoted when they hold a comma, quote or
line break). A cell that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
`@`, a tab or a carriage return) gets a leading apostrophe, the OWASP advice against CSV
injection, so opening the file never executes anything.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import Database, utcnow
from parmenid.core.downloads import FileStatus, PreparedFile
from parmenid.core.jobs import Handler, JobContext, PermanentFailure, enqueue
from parmenid.core.storage import ObjectStorage
from parmenid.identity.audit import AuditFilter, AuditLog, AuditRecord
from parmenid.identity.models import User
from parmenid.identity.privacy import personal_data_archive

log = logging.getLogger("parmenid.exports")

JOB_NAME = "files.prepare"
EXPIRE_JOB = "files.expire"
PERSONAL_DATA = "personal_data"
AUDIT_LOG = "audit_log"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
AUDIT_COLUMNS = [
    "occurred_at",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "changes",
    "ip",
    "user_agent",
    "request_id",
]


def csv_safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def audit_csv(records: list[AuditRecord]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(AUDIT_COLUMNS)
    for r in records:
        row = [
            r.occurred_at.isoformat(),
            r.actor_type,
            r.actor_id,
            r.action,
            r.target_type,
            r.target_id,
            json.dumps(r.changes, ensure_ascii=False, sort_keys=True) if r.changes else "",
            r.ip,
            r.user_agent,
            r.request_id,
        ]
        writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def filter_parameters(where: AuditFilter) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, datetime) else str(value))
        for key, value in where.__dict__.items()
        if value is not None
    }


def filter_of(parameters: dict[str, Any]) -> AuditFilter:
    values: dict[str, Any] = dict(parameters)
    for key in ("since", "until"):
        if key in values:
            values[key] = datetime.fromisoformat(values[key])
    if "actor_id" in values:
        values["actor_id"] = uuid.UUID(values["actor_id"])
    return AuditFilter(**values)


def request_file(
    session: AsyncSession,
    *,
    kind: str,
    requested_by_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    filename: str,
    content_type: str,
    parameters: dict[str, Any] | None = None,
) -> PreparedFile:
    """Record the request and queue the job that builds the file (both in the caller's
    transaction: a 202 means the job will run)."""
    prepared = PreparedFile(
        id=uuid.uuid4(),
        kind=kind,
        requested_by_id=requested_by_id,
        organization_id=organization_id,
        filename=filename,
        content_type=content_type,
        parameters=parameters or {},
    )
    session.add(prepared)
    enqueue(session, JOB_NAME, {"file_id": str(prepared.id)})
    return prepared


def prepare_handler(db: Database, storage: ObjectStorage, retention: timedelta) -> Handler:
    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        file_id = uuid.UUID(payload["file_id"])
        async with db.session() as session:
            prepared = await session.get(PreparedFile, file_id)
            if prepared is None:
                return {"skipped": "the request is gone (its user or organization was deleted)"}
            if prepared.status == FileStatus.READY:
                return {"skipped": "already built"}
            data = await _build(session, prepared)
        key = f"prepared/{prepared.kind}/{file_id}/{prepared.filename}"
        await storage.put(key, data)
        async with db.session() as session:
            prepared = await session.get(PreparedFile, file_id)
            if prepared is None:  # deleted while we built it: leave nothing behind
                await storage.delete(key)
                return {"skipped": "deleted while building"}
            prepared.storage_key = key
            prepared.size_bytes = len(data)
            prepared.status = FileStatus.READY.value
            prepared.completed_at = utcnow()
            prepared.expires_at = utcnow() + retention
            enqueue(session, EXPIRE_JOB, {"file_id": str(file_id)}, run_at=prepared.expires_at)
        return {"bytes": len(data)}

    return handle


def expire_handler(db: Database, storage: ObjectStorage) -> Handler:
    """Deletes a prepared file once its retention ends (its row stays, without the file)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        async with db.session() as session:
            prepared = await session.get(PreparedFile, uuid.UUID(payload["file_id"]))
            if prepared is None or prepared.storage_key is None:
                return {"skipped": "nothing stored"}
            if prepared.expires_at is not None and prepared.expires_at > utcnow():
                return {"skipped": "kept longer"}
            await storage.delete(prepared.storage_key)
            prepared.storage_key = None
        return {"deleted": True}

    return handle


async def _build(session: AsyncSession, prepared: PreparedFile) -> bytes:
    if prepared.kind == PERSONAL_DATA:
        user = (
            await session.get(User, prepared.requested_by_id) if prepared.requested_by_id else None
        )
        if user is None:
            raise PermanentFailure("the user no longer exists")
        return await personal_data_archive(session, user)
    if prepared.kind == AUDIT_LOG and prepared.organization_id is not None:
        records = await AuditLog(session).all_of(
            prepared.organization_id, filter_of(prepared.parameters)
        )
        return audit_csv(records)
    raise PermanentFailure(f"unknown kind of file: {prepared.kind}")


def purge_handler(storage: ObjectStorage, index_of: Any) -> Handler:
    """Removes stored files (and an organization's index entries) after an erasure."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        for key in payload.get("storage_keys", []):
            await storage.delete(key)
        organization_id = payload.get("organization_id")
        if organization_id:
            index = index_of()
            if index is not None:
                await index.delete_organization(organization_id)
        return {"files": len(payload.get("storage_keys", []))}

    return handle
