"""`POST /presentations/{id}/export` (202) and `GET /presentations/{id}/export/{export_id}`.

Editors start exports, viewers read them; API keys need `exports:write` for both ("start
exports and read their results"). Progress arrives on the WebSocket (`/ws`, subscribe with the
`export_id` as `job_id`): `export_completed`, or `export_failed`.

This module also tells the two shared registries about exports: signed download links
(`/api/v1/downloads/{token}` serves an export's file and its thumbnail) and the WebSocket's
job lookup.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Text
from parmenid.core.web import require_json
from parmenid.identity.models import Role
from parmenid.presentai.authz import OrgAccess, on_resource, owned_by
from parmenid.presentai.downloads import Download, downloadable, signed_link
from parmenid.presentai.exports.models import ExportFormat, ExportJob, ExportStatus
from parmenid.presentai.exports.service import ExportService, file_kept
from parmenid.presentai.exports.tasks import FINISHED, THUMBNAIL, google_url
from parmenid.presentai.generation.progress import stream_of
from parmenid.presentai.presentations.auth import PRESENTATION
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.realtime.subscriptions import JobState, JobTarget, jobs
from parmenid.runtime import Runtime
from parmenid.webapp import RuntimeDep, SessionDep

SCOPE = "exports:write"
_presentation = owned_by(Presentation)
ExportStarter = Annotated[
    OrgAccess,
    Depends(on_resource("presentation_id", _presentation, PRESENTATION, Role.EDITOR, SCOPE)),
]
ExportReader = Annotated[
    OrgAccess,
    Depends(on_resource("presentation_id", _presentation, PRESENTATION, Role.VIEWER, SCOPE)),
]

router = APIRouter(tags=["Exports"], dependencies=[Depends(require_json)])

FormatName = Literal["pptx", "pdf", "png", "google_slides"]
ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "insufficient_scope: also for google_slides with an API key"},
    404: {"description": "not_found: the presentation (deleted ones too) or the brand kit"},
    409: {
        "description": "conflict: being generated, or no ready slide; google_not_connected: "
        "google_slides without a connected Google account"
    },
    422: {
        "description": "validation_error: e.g. a format other than pptx, pdf, png, google_slides"
    },
}
PRESENTATION_DELETED = Text(
    "The presentation of this export was deleted.", "Презентация этого экспорта удалена."
)


class ExportRequest(BaseModel):
    format: FormatName = Field(
        description="pptx, pdf, png (a ZIP, one image per slide) or google_slides (a deck "
        "in your connected Google account)"
    )
    brand_kit_id: uuid.UUID | None = Field(
        default=None,
        description="A brand kit of the organization; default: the presentation's, else the "
        "organization's default kit",
    )


class ExportAccepted(BaseModel):
    export_id: uuid.UUID
    presentation_id: uuid.UUID
    format: FormatName
    status: Literal["queued"] = "queued"
    status_url: str
    events: str = Field(
        default="/ws",
        description='Subscribe on the WebSocket with {"type": "subscribe", "job_id": export_id}',
    )


class ExportOut(BaseModel):
    export_id: uuid.UUID
    presentation_id: uuid.UUID
    format: FormatName
    status: Literal["queued", "running", "succeeded", "failed"]
    status_url: str
    file_status: Literal["pending", "available", "expired", "none"] = Field(
        description="pending until the job ends; available while the file is kept; expired "
        "after expires_at (its links answer 410 gone); none for google_slides and failures"
    )
    download_url: str | None = Field(
        default=None, description="A signed link, fresh on every read, while the file is kept"
    )
    download_url_expires_at: datetime | None = None
    thumbnail_url: str | None = Field(default=None, description="A signed link to a PNG")
    filename: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    slide_count: int | None = None
    google_file_id: str | None = None
    google_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(
        default=None, description="When the file is deleted; its links answer 410 gone after"
    )


def status_url(request: Request, job: ExportJob) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/api/v1/presentations/{job.presentation_id}/export/{job.id}"


def describe(job: ExportJob, url: str, runtime: Runtime) -> ExportOut:
    """The export's state; a kept file comes with fresh signed links."""
    ttl = runtime.settings.presentai.export_link_ttl_seconds
    link = link_expires = thumbnail = None
    if file_kept(job):
        file_status: Literal["pending", "available", "expired", "none"] = "available"
        link, link_expires = signed_link(runtime, job.id, ttl)
        if job.thumbnail_storage_key is not None:
            thumbnail, _ = signed_link(runtime, job.id, ttl, THUMBNAIL)
    elif job.status not in FINISHED:
        file_status = "pending"
    elif job.status == ExportStatus.SUCCEEDED.value and job.format != ExportFormat.GOOGLE_SLIDES:
        file_status = "expired"
    else:
        file_status = "none"
    return ExportOut(
        export_id=job.id,
        presentation_id=job.presentation_id,
        format=ExportFormat(job.format).value,
        status=ExportStatus(job.status).value,
        status_url=url,
        file_status=file_status,
        download_url=link,
        download_url_expires_at=link_expires,
        thumbnail_url=thumbnail,
        filename=job.filename,
        content_type=job.content_type,
        size_bytes=job.size_bytes,
        slide_count=job.slide_count,
        google_file_id=job.google_file_id,
        google_url=google_url(job.google_file_id) if job.google_file_id else None,
        error_code=job.error_code,
        error_message=job.error_message,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
    )


@router.post(
    "/presentations/{presentation_id}/export",
    status_code=202,
    response_model=ExportAccepted,
    responses=ERRORS,
)
async def start_export(
    presentation_id: uuid.UUID,
    body: ExportRequest,
    access: ExportStarter,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ExportAccepted:
    """Renders the presentation's slides as they are when the job starts. Poll `status_url`
    or follow the `export_id` on the WebSocket; the finished file is downloaded through a
    signed, expiring link."""
    job = await ExportService(session, runtime).start(
        presentation_id, ExportFormat(body.format), body.brand_kit_id, access.caller
    )
    access.caller.audit(
        "presentation.export_requested",
        target_type="presentation",
        target_id=presentation_id,
        changes={"export_id": str(job.id), "format": job.format},
    )
    return ExportAccepted(
        export_id=job.id,
        presentation_id=job.presentation_id,
        format=body.format,
        status_url=status_url(request, job),
    )


@router.get(
    "/presentations/{presentation_id}/export/{export_id}",
    response_model=ExportOut,
    responses={404: {"description": "not_found: the presentation or the export"}},
)
async def get_export(
    presentation_id: uuid.UUID,
    export_id: uuid.UUID,
    access: ExportReader,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ExportOut:
    """The export's status; once it succeeded, a fresh `download_url` (valid
    `export_link_ttl_seconds`, default 1 h) while the file is kept, or the Google Slides file."""
    job = await ExportService(session, runtime).export(presentation_id, export_id)
    return describe(job, status_url(request, job), runtime)


@downloadable
async def export_file(
    session: AsyncSession, file_id: uuid.UUID, variant: str | None
) -> Download | None:
    """An export's file (or, variant `thumbnail`, its first slide as PNG) for a signed link."""
    if variant not in (None, THUMBNAIL):
        return None
    job = await session.get(ExportJob, file_id)
    if job is None or job.status != ExportStatus.SUCCEEDED.value:
        return None
    presentation = await session.get(Presentation, job.presentation_id)
    gone = PRESENTATION_DELETED if presentation is None or presentation.deleted_at else None
    if variant == THUMBNAIL:
        key = job.thumbnail_storage_key if job.storage_key else None
        return Download(key, "thumbnail.png", "image/png", job.expires_at, gone)
    return Download(
        job.storage_key,
        job.filename or f"export.{job.format}",
        job.content_type or "application/octet-stream",
        job.expires_at,
        gone,
    )


@jobs.register
async def export_job(session: AsyncSession, job_id: uuid.UUID) -> JobTarget | None:
    row = (
        await session.execute(
            select(ExportJob.organization_id, ExportJob.status, ExportJob.events_published).where(
                ExportJob.id == job_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    organization_id, status, events_published = row
    state = JobState(
        status,
        status in FINISHED,
        100 if status == ExportStatus.SUCCEEDED.value else None,
        events_published,
    )
    return JobTarget(job_id, "export", organization_id, stream_of(job_id), state)
