"""Presentations: create, read, change, soft delete and restore, duplicate.

Rules that are not obvious from the code:
* A presentation lives in a project of its organization; it cannot be created in (or moved or
  duplicated into) an archived project (409), and another organization's project is 404.
* A presentation is *busy* while its status is `outline_generating` or `slides_generating`, or
  while its current generation job (one slide's regeneration included) is queued or running.
  A busy presentation cannot be changed, deleted, duplicated, nor its sources changed (409).
* Deleting is soft: the presentation disappears everywhere (404, hidden from lists) but can be
  restored for `presentation_retention_days`; a job queued for the end of that window deletes it
  for good (see `purge.py`). Restoring after the window answers 410, restoring one that is not
  deleted 409.
* A duplicate copies the parameters, outline, warnings, status, the slides with their whole
  version history (same version numbers, authors, reasons and dates: a restore of "version 2"
  means the same thing in both) and the source links (the same documents, not re-ingested). It
  has no current job: the original's jobs stay the original's.
* A presentation's `brand_kit_id` must name a brand kit of its organization (422 on that field;
  null clears it, and a value sent unchanged is not checked again). Without one, rendering uses
  the organization's default kit; deleting a kit clears it from the presentations naming it.
* `search_text` is the title, the outline and the slides' titles and bullets, case-folded in
  Python (SQLite's lower() knows only ASCII); whoever changes one of those calls
  `refresh_search_text`.
"""

from __future__ import annotations

import uuid
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import new_id, utcnow
from parmenid.core.errors import Conflict, Gone, NotFound, Text
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.authz import not_found_text
from parmenid.presentai.brand_kits.service import require_kit_of
from parmenid.presentai.generation.models import GenerationJob, GenerationStatus
from parmenid.presentai.presentations.live import NOT_FOUND_TEXT, live_presentation
from parmenid.presentai.presentations.models import (
    GENERATING,
    Presentation,
    PresentationSource,
)
from parmenid.presentai.presentations.purge import schedule_purge
from parmenid.presentai.presentations.schemas import (
    CurrentJobOut,
    PresentationCopy,
    PresentationCreate,
    PresentationOut,
    PresentationSummaryOut,
    PresentationUpdate,
    SourceOut,
)
from parmenid.presentai.presentations.search import refresh_search_text as refresh_search_text
from parmenid.presentai.projects.models import Project
from parmenid.presentai.slides.models import Slide, SlideVersion
from parmenid.presentai.slides.schemas import SlideOut

PROJECT = Text("Project", "Проект")
COPY_SUFFIX = " (copy)"
UNFINISHED_JOB = frozenset({GenerationStatus.QUEUED.value, GenerationStatus.RUNNING.value})

BUSY = Text(
    "The presentation is being generated; wait until generation finishes and try again.",
    "Презентация генерируется; дождитесь окончания генерации и повторите попытку.",
)


def archived_project(project: Project) -> Conflict:
    return Conflict(
        Text(
            f"The project “{project.name}” is archived: unarchive it or choose another project.",
            f"Проект «{project.name}» в архиве: разархивируйте его или выберите другой проект.",
        ),
        extra={"project_id": str(project.id)},
    )


def purge_time(presentation: Presentation, retention: timedelta) -> datetime | None:
    """When a deleted presentation is deleted for good (None for a live one)."""
    return presentation.deleted_at + retention if presentation.deleted_at else None


class PresentationService:
    def __init__(self, session: AsyncSession, retention: timedelta) -> None:
        self.session = session
        self.retention = retention

    # -- finding ---------------------------------------------------------------------------

    async def get_live(self, presentation_id: uuid.UUID, *, reload: bool = False) -> Presentation:
        """A presentation that is not deleted, else 404 (`reload`: read it again)."""
        return await live_presentation(self.session, presentation_id, reload=reload)

    async def project_for(self, organization_id: uuid.UUID, project_id: uuid.UUID) -> Project:
        """A project of the organization that can take presentations (404, or 409 archived)."""
        project = await self.session.get(Project, project_id)
        if project is None or project.organization_id != organization_id:
            raise not_found_text(PROJECT)
        if project.archived_at is not None:
            raise archived_project(project)
        return project

    async def is_busy(self, presentation: Presentation) -> bool:
        if presentation.status in GENERATING:
            return True
        if presentation.current_job_id is None:
            return False
        status = await self.session.scalar(
            select(GenerationJob.status).where(GenerationJob.id == presentation.current_job_id)
        )
        return status in UNFINISHED_JOB

    async def ensure_idle(self, presentation: Presentation) -> None:
        """409 while the presentation is being generated (see the module docstring)."""
        if await self.is_busy(presentation):
            raise Conflict(BUSY, extra={"status": presentation.status})

    # -- changing --------------------------------------------------------------------------

    async def create(
        self, organization_id: uuid.UUID, created_by: uuid.UUID | None, body: PresentationCreate
    ) -> Presentation:
        project = await self.project_for(organization_id, body.project_id)
        if body.brand_kit_id is not None:
            await require_kit_of(self.session, organization_id, body.brand_kit_id)
        presentation = Presentation(
            id=new_id(),
            organization_id=organization_id,
            project_id=project.id,
            title=body.title,
            parameters=body.parameters(),
            created_by_id=created_by,
            warnings={},
            search_text=body.title.casefold(),
        )
        self.session.add(presentation)
        await self.session.flush()
        return presentation

    async def update(
        self, presentation: Presentation, body: PresentationUpdate
    ) -> dict[str, dict[str, Any]]:
        """Apply the change; returns what changed (for the audit log)."""
        await self.ensure_idle(presentation)
        changes: dict[str, dict[str, Any]] = {}
        if body.project_id is not None and body.project_id != presentation.project_id:
            project = await self.project_for(presentation.organization_id, body.project_id)
            changes["project_id"] = {"from": str(presentation.project_id), "to": str(project.id)}
            presentation.project_id = project.id
        if body.title is not None and body.title != presentation.title:
            changes["title"] = {"from": presentation.title, "to": body.title}
            presentation.title = body.title
            await refresh_search_text(self.session, presentation)
        parameters = dict(presentation.parameters or {})
        for name, value in body.parameter_changes().items():
            if parameters.get(name) != value:
                if name == "brand_kit_id" and value is not None:
                    await require_kit_of(
                        self.session, presentation.organization_id, uuid.UUID(value)
                    )
                changes[name] = {"from": parameters.get(name), "to": value}
                parameters[name] = value
        if parameters != presentation.parameters:
            presentation.parameters = parameters
        if changes:
            presentation.updated_at = utcnow()
        await self.session.flush()
        return changes

    async def delete(self, presentation: Presentation) -> datetime:
        """Soft delete; returns when it will be deleted for good."""
        await self.ensure_idle(presentation)
        presentation.deleted_at = utcnow()
        purge_at = presentation.deleted_at + self.retention
        schedule_purge(self.session, presentation.id, purge_at)
        await self.session.flush()
        return purge_at

    async def restore(self, presentation_id: uuid.UUID) -> Presentation:
        presentation = await self.session.get(Presentation, presentation_id)
        if presentation is None:
            raise NotFound(NOT_FOUND_TEXT)
        if presentation.deleted_at is None:
            raise Conflict(Text("The presentation is not deleted.", "Презентация не удалена."))
        if presentation.deleted_at + self.retention <= utcnow():
            days = self.retention.days
            raise Gone(
                Text(
                    f"The presentation was deleted more than {days} days ago and can no longer "
                    "be restored.",
                    f"Презентация удалена более {days} дней назад, восстановить её нельзя.",
                ),
                extra={"deleted_at": presentation.deleted_at.isoformat()},
            )
        presentation.deleted_at = None
        presentation.updated_at = utcnow()
        await self.session.flush()
        return presentation

    async def duplicate(
        self, original: Presentation, body: PresentationCopy, created_by: uuid.UUID | None
    ) -> Presentation:
        """A copy as the module docstring describes."""
        await self.ensure_idle(original)
        project = await self.project_for(
            original.organization_id, body.project_id or original.project_id
        )
        title = body.title or (original.title[: 300 - len(COPY_SUFFIX)] + COPY_SUFFIX)
        copy = Presentation(
            id=new_id(),
            organization_id=original.organization_id,
            project_id=project.id,
            title=title,
            parameters=dict(original.parameters or {}),
            status=original.status,
            failure_reason=original.failure_reason,
            created_by_id=created_by,
            outline=deepcopy(original.outline),
            warnings=deepcopy(original.warnings or {}),
            search_text=original.search_text,
        )
        self.session.add(copy)
        await self.session.flush()
        slides = list(
            await self.session.scalars(
                select(Slide).where(Slide.presentation_id == original.id).order_by(Slide.position)
            )
        )
        new_ids = {slide.id: new_id() for slide in slides}
        for slide in slides:
            self.session.add(
                Slide(
                    id=new_ids[slide.id],
                    organization_id=copy.organization_id,
                    presentation_id=copy.id,
                    position=slide.position,
                    title=slide.title,
                    layout=slide.layout,
                    content=deepcopy(slide.content),
                    status=slide.status,
                    error_code=slide.error_code,
                    error_message=slide.error_message,
                    version=slide.version,
                    brief=deepcopy(slide.brief),
                )
            )
        await self.session.flush()
        if new_ids:
            versions = await self.session.scalars(
                select(SlideVersion).where(SlideVersion.slide_id.in_(list(new_ids)))
            )
            self.session.add_all(
                SlideVersion(
                    slide_id=new_ids[version.slide_id],
                    version=version.version,
                    title=version.title,
                    layout=version.layout,
                    content=deepcopy(version.content),
                    author_kind=version.author_kind,
                    author_user_id=version.author_user_id,
                    author_key_id=version.author_key_id,
                    job_id=version.job_id,
                    reason=version.reason,
                    note=version.note,
                    created_at=version.created_at,
                )
                for version in versions.all()
            )
        links = await self.session.scalars(
            select(PresentationSource).where(PresentationSource.presentation_id == original.id)
        )
        self.session.add_all(
            PresentationSource(
                organization_id=copy.organization_id,
                presentation_id=copy.id,
                document_id=link.document_id,
                added_by_id=link.added_by_id,
            )
            for link in links.all()
        )
        await refresh_search_text(self.session, copy)
        await self.session.flush()
        return copy

    # -- reading ---------------------------------------------------------------------------

    async def counts(self, presentation_id: uuid.UUID) -> tuple[int, int]:
        slides = await self.session.scalar(
            select(func.count()).select_from(Slide).where(Slide.presentation_id == presentation_id)
        )
        sources = await self.session.scalar(
            select(func.count())
            .select_from(PresentationSource)
            .where(PresentationSource.presentation_id == presentation_id)
        )
        return int(slides or 0), int(sources or 0)

    async def sources(self, presentation_id: uuid.UUID) -> list[SourceOut]:
        rows = await self.session.execute(
            select(PresentationSource, SourceDocument)
            .join(SourceDocument, SourceDocument.id == PresentationSource.document_id)
            .where(PresentationSource.presentation_id == presentation_id)
            .order_by(PresentationSource.created_at, PresentationSource.id)
        )
        return [SourceOut.of(link, document) for link, document in rows.all()]

    async def details(self, presentation: Presentation) -> PresentationOut:
        """Everything the editor shows: slides in order, sources, outline, warnings, job."""
        slides = await self.session.scalars(
            select(Slide)
            .where(Slide.presentation_id == presentation.id)
            .order_by(Slide.position, Slide.created_at)
        )
        slide_list = [SlideOut.of(slide) for slide in slides.all()]
        sources = await self.sources(presentation.id)
        job = (
            await self.session.get(GenerationJob, presentation.current_job_id)
            if presentation.current_job_id
            else None
        )
        outline = presentation.outline
        return PresentationOut(
            **PresentationSummaryOut.fields_of(
                presentation,
                len(slide_list),
                len(sources),
                purge_time(presentation, self.retention),
            ),
            outline=list(outline.get("items", [])) if outline is not None else None,
            warnings=list((presentation.warnings or {}).get("items", [])),
            current_job=CurrentJobOut.of(job) if job is not None else None,
            slides=slide_list,
            sources=sources,
        )
