"""Starting a presentation export and reading its state.

Answered at once, before anything is queued:
* a deleted presentation 404; a brand kit that is not the organization's 404;
* a presentation being generated, or without a single ready slide, 409 `conflict`;
* Google Slides: not configured on this server, 503 `google_slides_unavailable`; an API key
  has no Google account, 403 `insufficient_scope`; a person who has not connected theirs, 409
  `google_not_connected` (the job checks again when it runs).

The export row and its queue entry are written in the request's transaction, so a 202 means the
job is stored and will run (after a restart too). The file it builds is kept
`presentai.export_retention_days`; each read of the export hands out a fresh signed link
valid `presentai.export_link_ttl_seconds`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, InsufficientScope, Text, not_found
from parmenid.core.jobs import enqueue
from parmenid.presentai.authz import Caller
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.exports.models import ExportFormat, ExportJob, ExportStatus
from parmenid.presentai.exports.tasks import JOB_NAME
from parmenid.presentai.oauth.google_slides import (
    NOT_CONFIGURED,
    GoogleSlidesFailed,
    is_connected,
    not_connected,
)
from parmenid.presentai.presentations.live import live_presentation
from parmenid.presentai.presentations.models import GENERATING, Presentation
from parmenid.presentai.slides.models import Slide, SlideStatus
from parmenid.runtime import Runtime

BUSY = Text(
    "The presentation is being generated; export it once generation has finished.",
    "Презентация ещё генерируется; экспортируйте её после окончания генерации.",
)
NO_READY_SLIDES = Text(
    "The presentation has no ready slide to export; generate or write its slides first.",
    "В презентации нет готовых слайдов для экспорта; сначала сгенерируйте или заполните слайды.",
)
KEYS_CANNOT_USE_GOOGLE = Text(
    "Google Slides export creates the deck in a person's Google account, and an API key has "
    "none: sign in as a user who has connected Google, or export to pptx, pdf or png.",
    "Экспорт в Google Slides создаёт презентацию в Google-аккаунте пользователя, а у API-ключа "
    "его нет: войдите как пользователь с подключённым Google или выберите pptx, pdf или png.",
)


def file_kept(job: ExportJob) -> bool:
    """The export's file is stored and within its retention."""
    return (
        job.status == ExportStatus.SUCCEEDED.value
        and job.storage_key is not None
        and (job.expires_at is None or job.expires_at > utcnow())
    )


class ExportService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime

    async def presentation(self, presentation_id: uuid.UUID) -> Presentation:
        return await live_presentation(self.session, presentation_id)

    async def start(
        self,
        presentation_id: uuid.UUID,
        fmt: ExportFormat,
        brand_kit_id: uuid.UUID | None,
        caller: Caller,
    ) -> ExportJob:
        """Check what a person must hear at once, then store and queue the export."""
        presentation = await self.presentation(presentation_id)
        if presentation.status in GENERATING:
            raise Conflict(BUSY)
        ready = await self.session.scalar(
            select(func.count())
            .select_from(Slide)
            .where(
                Slide.presentation_id == presentation.id,
                Slide.status == SlideStatus.READY.value,
            )
        )
        if not ready:
            raise Conflict(NO_READY_SLIDES)
        if fmt is ExportFormat.GOOGLE_SLIDES:
            if not self.runtime.settings.google.enabled:
                raise GoogleSlidesFailed(NOT_CONFIGURED)
            if caller.user is None:
                raise InsufficientScope(KEYS_CANNOT_USE_GOOGLE, extra={"required_scope": None})
            if not await is_connected(self.session, caller.user.id):
                raise not_connected()
        if brand_kit_id is not None:
            kit = await self.session.get(BrandKit, brand_kit_id)
            if kit is None or kit.organization_id != presentation.organization_id:
                raise not_found("Brand kit", "Брендбук")
        job = ExportJob(
            id=uuid.uuid4(),
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            format=fmt.value,
            status=ExportStatus.QUEUED.value,
            brand_kit_id=brand_kit_id,
            created_by_id=caller.user.id if caller.user else None,
            events_published=0,
        )
        self.session.add(job)
        enqueue(
            self.session,
            JOB_NAME,
            {"export_job_id": str(job.id)},
            # two more starts than runs may fail: an interrupted job then fails cleanly
            max_attempts=self.runtime.settings.presentai.export_max_attempts + 2,
        )
        await self.session.flush()
        return job

    async def export(self, presentation_id: uuid.UUID, export_id: uuid.UUID) -> ExportJob:
        await self.presentation(presentation_id)
        job = await self.session.get(ExportJob, export_id)
        if job is None or job.presentation_id != presentation_id:
            raise not_found("Export", "Экспорт")
        return job
