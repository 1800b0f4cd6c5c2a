"""Generation endpoints: outline, slides, one slide again (202 with a `job_id`), job status.

Progress arrives on the WebSocket (`/ws`, subscribe to the `job_id`); `GET
/presentations/{id}/jobs/{job_id}` answers the same for clients that poll.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from parmenid.core.errors import not_found
from parmenid.presentai.authz import OrgAccess
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.generation.service import GenerationService
from parmenid.presentai.presentations.auth import (
    PresentationEditor,
    PresentationReader,
    SlideEditor,
)
from parmenid.presentai.slides.models import Slide
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(tags=["Generation"])

ERRORS: dict[int | str, dict[str, str]] = {
    409: {"description": "conflict: already generating (or, for slides, no outline yet)"},
    422: {"description": "validation_error: no readable source"},
    429: {"description": "token_limit_exceeded: the monthly token limit is used up"},
    503: {"description": "llm_unavailable: every LLM provider is down; see retry_after"},
}


class JobAccepted(BaseModel):
    job_id: uuid.UUID
    presentation_id: uuid.UUID
    kind: Literal["outline", "slides", "slide"]
    status: Literal["queued"] = "queued"
    slide_id: uuid.UUID | None = None
    events: str = Field(
        default="/ws",
        description='Subscribe on the WebSocket with {"type": "subscribe", "job_id": ...}',
    )

    @classmethod
    def of(cls, job: GenerationJob) -> JobAccepted:
        return cls(
            job_id=job.id,
            presentation_id=job.presentation_id,
            kind=job.kind,
            slide_id=job.slide_id,
        )


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    presentation_id: uuid.UUID
    slide_id: uuid.UUID | None
    kind: Literal["outline", "slides", "slide"]
    status: Literal["queued", "running", "succeeded", "failed"]
    instruction: str | None
    progress_pct: int
    events_published: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class Regenerate(BaseModel):
    instruction: str | None = Field(
        default=None,
        max_length=500,
        description='What to change, e.g. "shorter", "more data", "короче", "больше цифр"',
    )


def _user(access: OrgAccess) -> uuid.UUID | None:
    return access.caller.user.id if access.caller.user else None


@router.post(
    "/presentations/{presentation_id}/generate/outline",
    status_code=202,
    response_model=JobAccepted,
    responses=ERRORS,
)
async def generate_outline(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JobAccepted:
    """Plans the deck from the sources (`parameters.slide_count` items, each with grounded key
    points). Status `outline_generating` → `outline_ready` (or `failed`); the event
    `outline_generated` carries the outline."""
    service = GenerationService(session, runtime)
    presentation = await service.presentation(presentation_id)
    job = await service.start_outline(presentation, _user(access))
    access.caller.audit(
        "presentation.outline_requested",
        target_type="presentation",
        target_id=presentation_id,
        changes={"job_id": str(job.id)},
    )
    return JobAccepted.of(job)


@router.post(
    "/presentations/{presentation_id}/generate/slides",
    status_code=202,
    response_model=JobAccepted,
    responses=ERRORS,
)
async def generate_slides(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JobAccepted:
    """Writes one slide per outline item, several at once; each is announced by
    `slide_completed` as it is stored, a failed one by `generation_error` with its
    `slide_number`, and the end by `generation_done`. Status `slides_generating` → `ready`."""
    service = GenerationService(session, runtime)
    presentation = await service.presentation(presentation_id)
    job = await service.start_slides(presentation, _user(access))
    access.caller.audit(
        "presentation.slides_requested",
        target_type="presentation",
        target_id=presentation_id,
        changes={"job_id": str(job.id)},
    )
    return JobAccepted.of(job)


@router.post(
    "/slides/{slide_id}/regenerate", status_code=202, response_model=JobAccepted, responses=ERRORS
)
async def regenerate_slide(
    slide_id: uuid.UUID,
    access: SlideEditor,
    session: SessionDep,
    runtime: RuntimeDep,
    body: Regenerate | None = Body(default=None),  # noqa: B008
) -> JobAccepted:
    """Writes the slide again from the sources, optionally following `instruction`; the result
    is a new version (reason `regenerated`), announced by `slide_completed` then
    `generation_done`."""
    slide = await session.get(Slide, slide_id)
    assert slide is not None
    instruction = body.instruction.strip() or None if body and body.instruction else None
    job = await GenerationService(session, runtime).start_slide(slide, instruction, _user(access))
    access.caller.audit(
        "slide.regeneration_requested",
        target_type="slide",
        target_id=slide_id,
        changes={"job_id": str(job.id), "instruction": instruction},
    )
    return JobAccepted.of(job)


@router.get("/presentations/{presentation_id}/jobs/{job_id}", response_model=JobOut)
async def get_job(
    presentation_id: uuid.UUID, job_id: uuid.UUID, access: PresentationReader, session: SessionDep
) -> JobOut:
    """A generation job's status and progress (what the WebSocket streams, for polling)."""
    job = await session.get(GenerationJob, job_id)
    if job is None or job.presentation_id != presentation_id:
        raise not_found("Job", "Задача")
    return JobOut.model_validate(job)
