"""Generation jobs: outline, all slides (concurrently), one slide again.

A job is a `GenerationJob` row run by the durable queue (`presentation.generate`). Rules that are
not obvious from the code:

* Sources still being indexed are waited for (the job is re-queued every few seconds, up to
  `presentai.source_wait_seconds`); then the job goes on with the sources that are indexed.
* Slides are written `presentai.slide_concurrency` at a time. Each slide is stored (as a new
  version) and announced (`slide_completed`) as soon as it is written; a slide that fails is
  marked failed and announced (`generation_error` with `slide_number`) and the others go on.
  The presentation is `ready` when at least one slide was written, else `failed`.
* Restart: a job whose process died is claimed again once its lease runs out. A slides job
  skips the slides it already wrote, so it resumes; an outline job starts over. After
  `presentai.generation_max_attempts` starts the job fails cleanly instead: nothing stays
  "generating" for ever.
* An error a person must act on (quota exhausted, every LLM down, nothing grounded) fails the
  job at once with that code; an unexpected error is retried like any job until the last start.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.errors import AppError, Text
from parmenid.core.jobs import JobContext, RetryLater
from parmenid.knowledge.models import IngestionStatus
from parmenid.presentai.generation import tabular
from parmenid.presentai.generation.grounding import Grounding, Retriever, source_files, usable
from parmenid.presentai.generation.models import GenerationJob, GenerationKind, GenerationStatus
from parmenid.presentai.generation.progress import Progress
from parmenid.presentai.generation.writer import (
    DeckBrief,
    NotGrounded,
    write_outline,
    write_slide,
)
from parmenid.presentai.presentations.models import Presentation, PresentationStatus
from parmenid.presentai.presentations.search import refresh_search_text
from parmenid.presentai.slides.models import Slide, SlideStatus
from parmenid.presentai.slides.versions import Author, Reason
from parmenid.presentai.slides.versions import write_slide as store_slide
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.generation")

JOB_NAME = "presentation.generate"
SOURCE_POLL_SECONDS = 2.0
RAG_UNAVAILABLE = "rag_unavailable"


class JobGone(Exception):
    """The job or its presentation no longer exists (deleted meanwhile)."""


def _brief(presentation: Presentation) -> DeckBrief:
    parameters = presentation.parameters or {}
    return DeckBrief(
        organization_id=presentation.organization_id,
        title=presentation.title,
        tone=str(parameters.get("tone") or "neutral"),
        audience=str(parameters.get("audience") or "general"),
        language=str(parameters.get("language") or "ru"),
        slides=int(parameters.get("slide_count") or 10),
    )


class GenerationRun:
    """One run (one claim) of a generation job."""

    def __init__(self, runtime: Runtime, job: GenerationJob, presentation: Presentation) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.presentai
        self.job_id = job.id
        self.kind = GenerationKind(job.kind)
        self.slide_id = job.slide_id
        self.instruction = job.instruction
        self.created_at = job.created_at
        self.started_at = job.started_at or utcnow()
        self.user_id = job.created_by_id
        self.presentation_id = presentation.id
        self.organization_id = presentation.organization_id
        self.brief = _brief(presentation)
        self.progress = Progress(runtime.db, runtime.streams, job.id, job.events_published)
        self.warned = bool(job.result and job.result.get("warned"))

    # -- shared -----------------------------------------------------------------------------

    def _duration_ms(self) -> int:
        return int((utcnow() - self.started_at).total_seconds() * 1000)

    async def retriever(self) -> Retriever:
        """The presentation's sources, once those being indexed are done (or waited for long
        enough); see the module docstring."""
        files = await source_files(self.runtime, self.presentation_id)
        waiting = [
            f
            for f in files
            if f.status in (IngestionStatus.PENDING.value, IngestionStatus.PROCESSING.value)
        ]
        waited = (utcnow() - self.created_at).total_seconds()
        if waiting and waited < self.settings.source_wait_seconds:
            raise RetryLater(f"{len(waiting)} source(s) still being indexed", SOURCE_POLL_SECONDS)
        if not usable(files, degraded=True):
            raise NoUsableSources(NO_SOURCES)
        return Retriever(self.runtime, self.organization_id, files)

    async def warn_if_degraded(self, grounding: Grounding) -> None:
        """Tell the user (event and presentation) once per job that the index was not used."""
        if not grounding.degraded or self.warned:
            return
        self.warned = True
        message = (
            "The search index is unavailable: the sources were read directly, without semantic "
            "search. Results may be less focused; regenerate when the index is back."
        )
        async with self.progress.transaction() as work:
            presentation = await work.session.get(Presentation, self.presentation_id)
            if presentation is not None:
                items = [
                    w
                    for w in (presentation.warnings or {}).get("items", [])
                    if w.get("code") != RAG_UNAVAILABLE
                ]
                items.append(
                    {"code": RAG_UNAVAILABLE, "message": message, "at": utcnow().isoformat()}
                )
                presentation.warnings = {"items": items}
            work.job = {"result": {"warned": True}}
            work.event = {
                "type": "generation_warning",
                "job_id": str(self.job_id),
                "presentation_id": str(self.presentation_id),
                "code": RAG_UNAVAILABLE,
                "message": message,
            }

    async def fail(self, code: str, message: str, *, status: PresentationStatus) -> None:
        """End the job as failed, leave the presentation in `status`, and say so."""
        async with self.progress.transaction() as work:
            await work.session.execute(
                update(Presentation)
                .where(Presentation.id == self.presentation_id)
                .values(
                    status=status.value,
                    failure_reason=message if status is PresentationStatus.FAILED else None,
                )
            )
            work.job = {
                "status": GenerationStatus.FAILED.value,
                "error_code": code,
                "error_message": message,
                "finished_at": utcnow(),
            }
            work.event = {
                "type": "generation_error",
                "job_id": str(self.job_id),
                "error_code": code,
                "error_message": message,
            }

    # -- outline ----------------------------------------------------------------------------

    async def outline(self) -> dict[str, Any]:
        retriever = await self.retriever()
        grounding = await retriever.whole(self.brief.title, self.settings.outline_context_chunks)
        await self.warn_if_degraded(grounding)
        items = await write_outline(self.runtime, self.brief, grounding)
        async with self.progress.transaction() as work:
            presentation = await work.session.get(Presentation, self.presentation_id)
            if presentation is None:
                raise JobGone()
            presentation.outline = {"items": items}
            if not grounding.degraded and presentation.warnings:  # the index is back
                presentation.warnings = {
                    "items": [
                        w
                        for w in presentation.warnings.get("items", [])
                        if w.get("code") != RAG_UNAVAILABLE
                    ]
                }
            presentation.status = PresentationStatus.OUTLINE_READY.value
            presentation.failure_reason = None
            await refresh_search_text(work.session, presentation)
            work.job = {
                "status": GenerationStatus.SUCCEEDED.value,
                "progress_pct": 100,
                "finished_at": utcnow(),
            }
            work.event = {
                "type": "outline_generated",
                "job_id": str(self.job_id),
                "presentation_id": str(self.presentation_id),
                "outline": items,
            }
        return {"outline_items": len(items)}

    # -- slides -----------------------------------------------------------------------------

    async def slides(self) -> dict[str, Any]:
        retriever = await self.retriever()
        async with self.runtime.db.session() as session:
            query = select(Slide).where(Slide.presentation_id == self.presentation_id)
            if self.kind is GenerationKind.SLIDE:
                query = query.where(Slide.id == self.slide_id)
            else:
                query = query.where(Slide.brief.is_not(None))
            slides = list((await session.scalars(query.order_by(Slide.position))).all())
        if not slides:
            raise JobGone()
        done = [s for s in slides if s.generated_by_job_id == self.job_id and s.status == "ready"]
        todo = [s for s in slides if s not in done]
        total = len(slides)
        counter = {"done": len(done), "failed": 0}
        limit = asyncio.Semaphore(self.settings.slide_concurrency)

        async def one(slide: Slide) -> None:
            async with limit:
                await self._one_slide(slide, retriever, counter, total)

        await asyncio.gather(*(one(slide) for slide in todo))
        written = counter["done"]
        status = PresentationStatus.READY if written else PresentationStatus.FAILED
        if self.kind is GenerationKind.SLIDE:
            status = PresentationStatus.READY  # one slide failing does not fail the deck
        async with self.progress.transaction() as work:
            presentation = await work.session.get(Presentation, self.presentation_id)
            if presentation is None:
                raise JobGone()
            presentation.status = status.value
            presentation.failure_reason = (
                None if written else "No slide could be written; see the slides' errors."
            )
            await refresh_search_text(work.session, presentation)
            work.job = {
                "status": (
                    GenerationStatus.SUCCEEDED if written else GenerationStatus.FAILED
                ).value,
                "progress_pct": 100,
                "finished_at": utcnow(),
            }
            if not written:
                work.job |= {
                    "error_code": "slides_failed",
                    "error_message": "No slide was written.",
                }
            work.event = {
                "type": "generation_done",
                "job_id": str(self.job_id),
                "presentation_id": str(self.presentation_id),
                "total_slides": written,
                "total_duration_ms": self._duration_ms(),
            }
        return {"slides_written": written, "slides_failed": counter["failed"]}

    async def _one_slide(
        self, slide: Slide, retriever: Retriever, counter: dict[str, int], total: int
    ) -> None:
        plan = slide.brief or {"title": slide.title, "key_points": []}
        try:
            query = " ".join(
                [str(plan.get("title", ""))]
                + [str(p.get("text", "")) for p in plan.get("key_points", [])]
            )
            grounding = await retriever.relevant(query, self.settings.slide_context_chunks)
            await self.warn_if_degraded(grounding)
            layout, data = tabular_layout(plan, grounding)
            try:
                written = await write_slide(
                    self.runtime, self.brief, slide.position, plan, grounding, self.instruction
                )
            except NotGrounded:
                if not data:
                    raise
                # the slide's material is a table: its data, cited, is the slide
                written = {"title": str(plan.get("title", "")), "bullets": [], "speaker_notes": ""}
        except AppError as exc:
            counter["failed"] += 1
            async with self.progress.transaction() as work:
                await work.session.execute(
                    update(Slide)
                    .where(Slide.id == slide.id)
                    .values(
                        status=SlideStatus.FAILED.value,
                        error_code=exc.code,
                        error_message=exc.message.en,
                    )
                )
                work.event = {
                    "type": "generation_error",
                    "job_id": str(self.job_id),
                    "error_code": exc.code,
                    "error_message": exc.message.en,
                    "slide_number": slide.position,
                }
            return
        reason: Reason = "regenerated" if self.kind is GenerationKind.SLIDE else "generated"
        async with self.progress.transaction() as work:
            row = await work.session.get(Slide, slide.id)
            if row is None:  # deleted meanwhile
                return
            store_slide(
                work.session,
                row,
                author=Author.job(self.job_id, self.user_id),
                reason=reason,
                title=written["title"],
                layout=layout or None,
                content={
                    "bullets": written["bullets"],
                    "speaker_notes": written["speaker_notes"],
                    **({"layout_data": data} if data else {}),
                },
                note=self.instruction,
            )
            row.status = SlideStatus.READY.value
            row.error_code = row.error_message = None
            row.generated_by_job_id = self.job_id
            pct = round(100 * (counter["done"] + 1) / total)
            work.job = {"progress_pct": pct}
            work.event = {
                "type": "slide_completed",
                "job_id": str(self.job_id),
                "slide_id": str(slide.id),
                "slide_number": row.position,
                "slide_title": row.title,
                "progress_pct": pct,
                "timestamp": int(time.time() * 1000),
            }
            counter["done"] += 1  # in the lock, so that no two events share a percentage


def tabular_layout(plan: dict[str, Any], grounding: Grounding) -> tuple[str, dict[str, Any]]:
    """A chart or table layout when the slide's material is a spreadsheet passage: one the
    outline cited for this slide, else the best match if it is one (see `tabular`)."""
    cited = {
        str((point.get("attribution") or {}).get("chunk_id"))
        for point in plan.get("key_points", [])
        if isinstance(point, dict)
    }
    candidates = [i for i, p in enumerate(grounding.passages) if p.id in cited] + [0]
    for index in candidates:
        if index >= len(grounding.passages):
            continue
        attribution = grounding.attributions[index]
        if not (attribution.get("location") or {}).get("sheet"):
            continue
        passage = grounding.passages[index]
        source = {**attribution, "excerpt": passage.text[:600]}
        layout, data = tabular.layout_data(passage.text, str(plan.get("title", "")), source)
        if data:
            return layout, data
    return "", {}


class NoUsableSources(AppError):
    code = "no_sources"
    status = 422


NO_SOURCES = Text(
    "None of the presentation's sources could be indexed; add a readable source and try again.",
    "Ни один источник презентации не удалось проиндексировать; добавьте читаемый источник.",
)


def generation_handler(runtime: Runtime) -> Any:
    """The queue handler for `presentation.generate` jobs (payload: `generation_job_id`)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        job_id = uuid.UUID(str(payload["generation_job_id"]))
        async with runtime.db.session() as session:
            job = await session.get(GenerationJob, job_id)
            presentation = (
                await session.get(Presentation, job.presentation_id) if job is not None else None
            )
            if job is None or presentation is None or presentation.deleted_at is not None:
                return {"skipped": "the job or its presentation is gone"}
            if job.status in (GenerationStatus.SUCCEEDED.value, GenerationStatus.FAILED.value):
                return {"skipped": f"already {job.status}"}
            job.status = GenerationStatus.RUNNING.value
            job.started_at = job.started_at or utcnow()
        run = GenerationRun(runtime, job, presentation)
        on_failure = (
            PresentationStatus.FAILED
            if run.kind is not GenerationKind.SLIDE
            else PresentationStatus(presentation.status)
        )
        max_attempts = runtime.settings.presentai.generation_max_attempts
        if context.attempt > max_attempts:
            await run.fail(
                "interrupted",
                f"The job was interrupted {max_attempts} times (the server restarted); "
                "start it again.",
                status=on_failure,
            )
            return {"failed": "interrupted"}
        try:
            if run.kind is GenerationKind.OUTLINE:
                return await run.outline()
            return await run.slides()
        except RetryLater:
            raise
        except JobGone:
            return {"skipped": "the presentation or its slides were deleted"}
        except AppError as exc:
            await run.fail(exc.code, exc.message.en, status=on_failure)
            return {"failed": exc.code}
        except Exception as exc:
            if context.attempt < max_attempts:
                log.exception("generation job %s failed; it will be retried", job_id)
                raise
            log.exception("generation job %s failed for good", job_id)
            await run.fail("internal_error", f"Generation failed: {exc}", status=on_failure)
            return {"failed": "internal_error"}

    return handle
