"""Starting generation: checks a person gets an answer to at once, then a queued job.

Answered before anything is queued:
* a deleted presentation 404; one already generating 409 `conflict` (the status moves with a
  conditional UPDATE, so two clicks cannot start two jobs);
* no source, or none that can be read, 422 `validation_error`; slides before an outline 409;
* the organization's monthly tokens used up: 429 `token_limit_exceeded`;
* every LLM provider's circuit breaker open: 503 `llm_unavailable` with `retry_after`.

The job row and its queue entry are written in the request's transaction, so a 202 means the
job is stored and will run (after a restart too).
"""

from __future__ import annotations

import math
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import Conflict, Text, ValidationFailed
from parmenid.core.jobs import enqueue
from parmenid.knowledge.models import IngestionStatus, SourceDocument
from parmenid.llm.errors import llm_unavailable, token_limit_exceeded
from parmenid.presentai.generation.models import GenerationJob, GenerationKind
from parmenid.presentai.generation.tasks import JOB_NAME
from parmenid.presentai.presentations.live import live_presentation
from parmenid.presentai.presentations.models import (
    GENERATING,
    Presentation,
    PresentationSource,
    PresentationStatus,
)
from parmenid.presentai.slides.models import Slide, SlideStatus
from parmenid.runtime import Runtime

BUSY = Text(
    "The presentation is being generated; wait for the current job to finish.",
    "Презентация уже генерируется; дождитесь окончания текущей задачи.",
)
NO_SOURCES = Text(
    "Add at least one readable source to the presentation first.",
    "Сначала добавьте в презентацию хотя бы один читаемый источник.",
)
NO_OUTLINE = Text(
    "Generate the outline first (POST /presentations/{id}/generate/outline).",
    "Сначала сгенерируйте план (POST /presentations/{id}/generate/outline).",
)
SLIDE_BUSY = Text("This slide is being generated already.", "Этот слайд уже генерируется.")


class GenerationService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime

    async def presentation(self, presentation_id: uuid.UUID) -> Presentation:
        return await live_presentation(self.session, presentation_id)

    async def start_outline(
        self, presentation: Presentation, user_id: uuid.UUID | None
    ) -> GenerationJob:
        await self._require_sources(presentation.id)
        await self._preflight(presentation.organization_id)
        await self._claim(presentation, PresentationStatus.OUTLINE_GENERATING)
        return self._queue(presentation, GenerationKind.OUTLINE, user_id)

    async def start_slides(
        self, presentation: Presentation, user_id: uuid.UUID | None
    ) -> GenerationJob:
        items = (presentation.outline or {}).get("items", [])
        if not items:
            raise Conflict(NO_OUTLINE)
        await self._require_sources(presentation.id)
        await self._preflight(presentation.organization_id)
        await self._claim(presentation, PresentationStatus.SLIDES_GENERATING)
        await self._lay_out(presentation, items)
        return self._queue(presentation, GenerationKind.SLIDES, user_id)

    async def start_slide(
        self, slide: Slide, instruction: str | None, user_id: uuid.UUID | None
    ) -> GenerationJob:
        presentation = await self.presentation(slide.presentation_id)
        if presentation.status in GENERATING:
            raise Conflict(BUSY)
        if slide.status in (SlideStatus.PENDING.value, SlideStatus.GENERATING.value):
            raise Conflict(SLIDE_BUSY)
        await self._require_sources(presentation.id)
        await self._preflight(presentation.organization_id)
        if slide.brief is None:  # a slide a person added: its title is the brief
            slide.brief = {"title": slide.title, "key_points": []}
        slide.status = SlideStatus.PENDING.value
        job = self._queue(presentation, GenerationKind.SLIDE, user_id, slide.id, instruction)
        return job

    async def _require_sources(self, presentation_id: uuid.UUID) -> None:
        readable = await self.session.scalar(
            select(func.count())
            .select_from(PresentationSource)
            .join(SourceDocument, SourceDocument.id == PresentationSource.document_id)
            .where(
                PresentationSource.presentation_id == presentation_id,
                (SourceDocument.ingestion_status != IngestionStatus.FAILED.value)
                | (SourceDocument.error_code == "index_unavailable"),
            )
        )
        if not readable:
            raise ValidationFailed(NO_SOURCES)

    async def _preflight(self, organization_id: uuid.UUID) -> None:
        gateway = self.runtime.gateway
        wait = gateway.unavailable_for()
        if wait is not None:
            raise llm_unavailable(max(1, math.ceil(wait)))
        if gateway.quotas is not None:
            usage = await gateway.quotas.usage(organization_id)
            if usage.used + usage.reserved >= usage.limit:
                raise token_limit_exceeded(usage.limit, usage.used, usage.month)

    async def _claim(self, presentation: Presentation, status: PresentationStatus) -> None:
        """Move to a generating status unless a job is running (atomically)."""
        result = await self.session.execute(
            update(Presentation)
            .where(Presentation.id == presentation.id, Presentation.status.not_in(GENERATING))
            .values(status=status.value, failure_reason=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise Conflict(BUSY)
        presentation.status = status.value
        presentation.failure_reason = None

    async def _lay_out(self, presentation: Presentation, items: list[dict[str, object]]) -> None:
        """One slide per outline item: the slide made from item i before is reused (it gets a
        new version when written), new ones go at the end; slides people added stay as they
        are."""
        slides = list(
            (
                await self.session.scalars(
                    select(Slide)
                    .where(Slide.presentation_id == presentation.id)
                    .order_by(Slide.position)
                )
            ).all()
        )
        by_item = {
            int(s.brief["outline_index"]): s
            for s in slides
            if s.brief is not None and "outline_index" in s.brief
        }
        last = max((s.position for s in slides), default=0)
        for index, item in enumerate(items):
            brief = {
                "outline_index": index,
                "title": item.get("title", ""),
                "key_points": item.get("key_points", []),
            }
            slide = by_item.get(index)
            if slide is None:
                last += 1
                slide = Slide(
                    id=uuid.uuid4(),
                    organization_id=presentation.organization_id,
                    presentation_id=presentation.id,
                    position=last,
                    title=str(item.get("title", ""))[:300],
                    content={},
                    version=0,
                )
                self.session.add(slide)
            slide.brief = brief
            slide.status = SlideStatus.PENDING.value
            slide.error_code = slide.error_message = None
        for index, slide in by_item.items():
            if index >= len(items):  # the outline has fewer items now: no longer generated
                slide.brief = None
        await self.session.flush()

    def _queue(
        self,
        presentation: Presentation,
        kind: GenerationKind,
        user_id: uuid.UUID | None,
        slide_id: uuid.UUID | None = None,
        instruction: str | None = None,
    ) -> GenerationJob:
        job = GenerationJob(
            id=uuid.uuid4(),
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            slide_id=slide_id,
            kind=kind.value,
            instruction=instruction,
            created_by_id=user_id,
            progress_pct=0,
            events_published=0,
        )
        self.session.add(job)
        presentation.current_job_id = job.id
        attempts = self.runtime.settings.presentai.generation_max_attempts + 2
        enqueue(
            self.session,
            JOB_NAME,
            {"generation_job_id": str(job.id)},
            max_attempts=attempts,
        )
        return job
