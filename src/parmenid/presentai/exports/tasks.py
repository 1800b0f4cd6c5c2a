"""Export jobs: a presentation rendered to PPTX, PDF or PNG, or built in Google Slides.

A job is an `ExportJob` row run by the durable queue (`presentation.export`). Rules that are
not obvious from the code:

* The deck is read once, when the job starts (a snapshot): edits made while it renders are in
  the next export, not half in this one. A presentation being generated at that moment is
  waited for (the job is re-queued every few seconds, for up to 15 minutes).
* Rendering is CPU-bound and runs in a worker thread. The file (PNG: a ZIP of one image per
  slide) and a thumbnail of the first slide are stored under `exports/{org}/{export_id}/`,
  kept `presentai.export_retention_days`, then deleted by a job scheduled for that moment
  (`presentation.export_expire`, which carries the keys, so the files go even if the export's
  presentation or organization was deleted meanwhile).
* Events on `gen_progress:{export_id}`, numbered with `seq` like generation events:
  `export_completed {type, export_job_id, presentation_id, format, download_url? |
  google_file_id?}` (the contract's event; `download_url` is a signed link valid
  `presentai.export_link_ttl_seconds`), or on failure `export_failed {type, export_job_id,
  presentation_id, format, error_code, error_message}` (ours: the contract names no export
  error event).
* Errors a person must act on fail the job at once with their code: `google_not_connected`,
  `google_slides_unavailable` (the Slides API failed; a PPTX export still works),
  `presentation_deleted`, `no_slides`. Anything else (storage down, a renderer crash) is
  retried with backoff; after `presentai.export_max_attempts` runs it fails as
  `export_failed`, and a job whose worker died that often fails as `interrupted`.
* Restart: the queue's lease hands a job whose process died to another worker; the job renders
  again and overwrites the same keys. A finished job (succeeded or failed) is never redone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal, cast

from parmenid.core.db import utcnow
from parmenid.core.errors import AppError, Text
from parmenid.core.jobs import Handler, JobContext, RetryLater, enqueue
from parmenid.core.storage import ObjectStorage, StorageUnavailable
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.downloads import signed_link
from parmenid.presentai.exports.models import ExportFormat, ExportJob, ExportStatus
from parmenid.presentai.generation.progress import Progress
from parmenid.presentai.oauth import google_slides
from parmenid.presentai.presentations.models import GENERATING, Presentation
from parmenid.presentai.render import api as render_api
from parmenid.presentai.render.deck import Deck
from parmenid.presentai.render.loading import brand_style, load_deck
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.exports")

JOB_NAME = "presentation.export"
EXPIRE_JOB = "presentation.export_expire"
FINISHED = frozenset({ExportStatus.SUCCEEDED.value, ExportStatus.FAILED.value})
GENERATION_POLL_SECONDS = 5.0
GENERATION_WAIT_SECONDS = 900.0
THUMBNAIL = "thumbnail"
EXTENSIONS = {ExportFormat.PPTX: "pptx", ExportFormat.PDF: "pdf", ExportFormat.PNG: "zip"}
GOOGLE_URL = "https://docs.google.com/presentation/d/{}/edit"
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class ExportError(AppError):
    """A failure the job reports as it is (its `code` and message), without retrying."""

    status = 422

    def __init__(self, code: str, message: Text) -> None:
        super().__init__(message)
        self.code = code


PRESENTATION_DELETED = Text(
    "The presentation was deleted before the export ran.",
    "Презентация удалена до того, как экспорт был выполнен.",
)
STILL_GENERATING = Text(
    "The presentation was still being generated after 15 minutes; export it again later.",
    "Презентация генерировалась дольше 15 минут; повторите экспорт позже.",
)
NO_SLIDES = Text(
    "The presentation has no slide to export.", "В презентации нет слайдов для экспорта."
)
NO_USER = Text(
    "The person who started this Google Slides export no longer exists.",
    "Пользователь, запустивший экспорт в Google Slides, больше не существует.",
)


def display_filename(title: str, extension: str) -> str:
    """The name people see when they download the file: the presentation's title."""
    name = " ".join(_UNSAFE_NAME.sub(" ", title).split()).strip(". ")[:120].rstrip(". ")
    return f"{name or 'presentation'}.{extension}"


def storage_prefix(job: ExportJob) -> str:
    return f"exports/{job.organization_id}/{job.id}"


def google_url(file_id: str) -> str:
    return GOOGLE_URL.format(file_id)


@dataclass(frozen=True)
class Stored:
    key: str
    filename: str
    content_type: str
    size_bytes: int
    slide_count: int
    thumbnail_key: str | None


class ExportRun:
    """One run (one claim) of an export job."""

    def __init__(self, runtime: Runtime, job: ExportJob) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.presentai
        self.job_id = job.id
        self.organization_id = job.organization_id
        self.presentation_id = job.presentation_id
        self.format = ExportFormat(job.format)
        self.brand_kit_id = job.brand_kit_id
        self.user_id = job.created_by_id
        self.created_at = job.created_at
        self.prefix = storage_prefix(job)
        self.thumbnail_key = f"{self.prefix}/{THUMBNAIL}.png"
        self.progress = Progress(
            runtime.db, runtime.streams, job.id, job.events_published, model=ExportJob
        )

    @property
    def storage(self) -> ObjectStorage:
        assert self.runtime.storage is not None
        return self.runtime.storage

    async def execute(self) -> dict[str, Any]:
        deck, title = await self._snapshot()
        if not deck.slides:
            raise ExportError("no_slides", NO_SLIDES)
        if self.format is ExportFormat.GOOGLE_SLIDES:
            return await self._to_google(deck)
        stored = await self._render_and_store(deck, title)
        return await self._succeeded(stored)

    async def _snapshot(self) -> tuple[Deck, str]:
        """The deck as it is now (and the presentation's title), in the brand kit the export
        asked for if it still exists (else the presentation's own, or the default)."""
        async with self.runtime.db.session() as session:
            presentation = await session.get(Presentation, self.presentation_id)
            if presentation is None or presentation.deleted_at is not None:
                raise ExportError("presentation_deleted", PRESENTATION_DELETED)
            if presentation.status in GENERATING:
                waited = (utcnow() - self.created_at).total_seconds()
                if waited < GENERATION_WAIT_SECONDS:
                    raise RetryLater("the presentation is being generated", GENERATION_POLL_SECONDS)
                raise ExportError("presentation_busy", STILL_GENERATING)
            deck = await load_deck(session, self.storage, self.presentation_id)
            if self.brand_kit_id is not None:
                kit = await session.get(BrandKit, self.brand_kit_id)
                if kit is not None and kit.organization_id == self.organization_id:
                    deck = replace(deck, style=await brand_style(self.storage, kit))
            return deck, presentation.title

    async def _to_google(self, deck: Deck) -> dict[str, Any]:
        if self.user_id is None:
            raise google_slides.not_connected(NO_USER)
        file_id = await google_slides.publish_deck(self.runtime, self.user_id, deck)
        async with self.progress.transaction() as work:
            if await work.session.get(ExportJob, self.job_id) is None:
                return {"skipped": "the export was deleted"}
            work.job = {
                "status": ExportStatus.SUCCEEDED.value,
                "google_file_id": file_id,
                "slide_count": len(deck.slides),
                "finished_at": utcnow(),
            }
            work.event = {
                "type": "export_completed",
                "export_job_id": str(self.job_id),
                "presentation_id": str(self.presentation_id),
                "format": self.format.value,
                "google_file_id": file_id,
            }
        return {"google_file_id": file_id}

    async def _render_and_store(self, deck: Deck, title: str) -> Stored:
        fmt = cast(Literal["pptx", "pdf", "png"], self.format.value)
        rendered = await asyncio.to_thread(render_api.render_deck, deck, fmt)
        extension = EXTENSIONS[self.format]
        suffix = "-png" if self.format is ExportFormat.PNG else ""
        key = f"{self.prefix}/export.{extension}"
        await self.storage.put(key, rendered.data)
        thumbnail_key = None
        if rendered.thumbnail:
            thumbnail_key = self.thumbnail_key
            await self.storage.put(thumbnail_key, rendered.thumbnail)
        return Stored(
            key=key,
            filename=display_filename(title + suffix, extension),
            content_type=rendered.content_type,
            size_bytes=len(rendered.data),
            slide_count=rendered.slide_count,
            thumbnail_key=thumbnail_key,
        )

    async def _succeeded(self, stored: Stored) -> dict[str, Any]:
        keys = [k for k in (stored.key, stored.thumbnail_key) if k]
        expires_at = utcnow() + timedelta(days=self.settings.export_retention_days)
        async with self.progress.transaction() as work:
            if await work.session.get(ExportJob, self.job_id) is None:
                gone = True  # deleted with its presentation meanwhile: leave nothing behind
            else:
                gone = False
                work.job = {
                    "status": ExportStatus.SUCCEEDED.value,
                    "storage_key": stored.key,
                    "filename": stored.filename,
                    "content_type": stored.content_type,
                    "size_bytes": stored.size_bytes,
                    "thumbnail_storage_key": stored.thumbnail_key,
                    "slide_count": stored.slide_count,
                    "finished_at": utcnow(),
                    "expires_at": expires_at,
                    "error_code": None,
                    "error_message": None,
                }
                enqueue(
                    work.session,
                    EXPIRE_JOB,
                    {"export_job_id": str(self.job_id), "storage_keys": keys},
                    run_at=expires_at,
                )
                link, _ = signed_link(
                    self.runtime, self.job_id, self.settings.export_link_ttl_seconds
                )
                work.event = {
                    "type": "export_completed",
                    "export_job_id": str(self.job_id),
                    "presentation_id": str(self.presentation_id),
                    "format": self.format.value,
                    "download_url": link,
                }
        if gone:
            for key in keys:
                await self.storage.delete(key)
            return {"skipped": "the export was deleted while it ran"}
        return {"bytes": stored.size_bytes, "slides": stored.slide_count}

    async def fail(self, code: str, message: str) -> None:
        """End the job as failed and say so; files an earlier run stored are removed."""
        if self.format is not ExportFormat.GOOGLE_SLIDES:
            for key in (f"{self.prefix}/export.{EXTENSIONS[self.format]}", self.thumbnail_key):
                try:
                    await self.storage.delete(key)
                except StorageUnavailable:
                    log.warning("files of failed export %s left behind", self.job_id)
                    break
        async with self.progress.transaction() as work:
            if await work.session.get(ExportJob, self.job_id) is None:
                return
            work.job = {
                "status": ExportStatus.FAILED.value,
                "error_code": code,
                "error_message": message,
                "finished_at": utcnow(),
            }
            work.event = {
                "type": "export_failed",
                "export_job_id": str(self.job_id),
                "presentation_id": str(self.presentation_id),
                "format": self.format.value,
                "error_code": code,
                "error_message": message,
            }


def export_handler(runtime: Runtime) -> Handler:
    """The queue handler for `presentation.export` (payload: `export_job_id`)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        job_id = uuid.UUID(str(payload["export_job_id"]))
        async with runtime.db.session() as session:
            job = await session.get(ExportJob, job_id)
            if job is None:
                return {"skipped": "the export is gone (its presentation was deleted)"}
            if job.status in FINISHED:
                return {"skipped": f"already {job.status}"}
            job.status = ExportStatus.RUNNING.value
            job.started_at = job.started_at or utcnow()
            run = ExportRun(runtime, job)
        max_attempts = runtime.settings.presentai.export_max_attempts
        if context.attempt > max_attempts:
            await run.fail(
                "interrupted",
                f"The export was interrupted {max_attempts} times; start it again.",
            )
            return {"failed": "interrupted"}
        try:
            return await run.execute()
        except RetryLater:
            raise
        except StorageUnavailable as exc:  # worth retrying, unlike other AppErrors
            if context.attempt < max_attempts:
                raise
            await run.fail(exc.code, exc.message.en)
            return {"failed": exc.code}
        except AppError as exc:
            await run.fail(exc.code, exc.message.en)
            return {"failed": exc.code}
        except Exception as exc:
            if context.attempt < max_attempts:
                log.exception("export %s failed; it will be retried", job_id)
                raise
            log.exception("export %s failed for good", job_id)
            await run.fail("export_failed", f"The export failed: {exc.__class__.__name__}: {exc}")
            return {"failed": "export_failed"}

    return handle


def expire_handler(runtime: Runtime) -> Handler:
    """Deletes an export's files once its retention ends (the row stays, without them)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any] | None:
        storage = runtime.storage
        assert storage is not None
        keys = [str(k) for k in payload.get("storage_keys", [])]
        async with runtime.db.session() as session:
            job = await session.get(ExportJob, uuid.UUID(str(payload["export_job_id"])))
            if job is not None and job.expires_at is not None and job.expires_at > utcnow():
                return {"skipped": "kept longer"}
            for key in keys:
                await storage.delete(key)
            if job is not None:
                job.storage_key = None
                job.thumbnail_storage_key = None
        return {"deleted": len(keys)}

    return handle


def export_handlers(runtime: Runtime) -> dict[str, Handler]:
    return {JOB_NAME: export_handler(runtime), EXPIRE_JOB: expire_handler(runtime)}
