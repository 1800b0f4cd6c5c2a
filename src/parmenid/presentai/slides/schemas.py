"""Slide responses and the content model shared by people's edits and generation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from parmenid.presentai.render.deck import Layout
from parmenid.presentai.slides.models import Slide, SlideLayout, SlideVersion

LayoutName = Layout  # the renderer's layouts, one list for the API, storage and rendering
assert set(get_args(LayoutName)) == {layout.value for layout in SlideLayout}


class Attribution(BaseModel):
    """Where a bullet comes from: the source document, the place in it and the indexed chunk."""

    document_id: uuid.UUID
    document: str = Field(description="The document's title or file name")
    chunk_id: str = Field(description="The indexed chunk the statement was taken from")
    location: dict[str, Any] = Field(
        default_factory=dict, description="page / page_end / slide / sheet / cell_range / ..."
    )
    citation: str = Field(description="A human label, e.g. 'report.pdf, p. 3'")
    excerpt: str = Field(default="", description="The chunk text the bullet rests on (≤ 600)")


class Bullet(BaseModel):
    text: str = Field(min_length=1, max_length=1000)
    attribution: Attribution | None = Field(
        default=None, description="null for a bullet a person wrote"
    )


class SlideContent(BaseModel):
    bullets: list[Bullet] = Field(default_factory=list, max_length=30)
    speaker_notes: str = Field(default="", max_length=10_000)


class SlideOut(BaseModel):
    id: uuid.UUID
    presentation_id: uuid.UUID
    slide_number: int
    title: str
    layout: LayoutName
    bullets: list[Bullet]
    speaker_notes: str
    status: Literal["empty", "pending", "generating", "ready", "failed"]
    error_code: str | None
    error_message: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, slide: Slide) -> SlideOut:
        content = SlideContent.model_validate(slide.content or {})
        return cls(
            id=slide.id,
            presentation_id=slide.presentation_id,
            slide_number=slide.position,
            title=slide.title,
            layout=slide.layout,
            bullets=content.bullets,
            speaker_notes=content.speaker_notes,
            status=slide.status,
            error_code=slide.error_code,
            error_message=slide.error_message,
            version=slide.version,
            created_at=slide.created_at,
            updated_at=slide.updated_at,
        )


class SlideVersionOut(BaseModel):
    version: int
    title: str
    layout: LayoutName
    bullets: list[Bullet]
    speaker_notes: str
    author_kind: Literal["user", "api_key", "job"]
    author_user_id: uuid.UUID | None
    author_key_id: uuid.UUID | None
    job_id: uuid.UUID | None
    reason: str = Field(
        description="created | edited | generated | regenerated | restored | duplicated"
    )
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, version: SlideVersion) -> SlideVersionOut:
        content = SlideContent.model_validate(version.content or {})
        return cls(
            version=version.version,
            title=version.title,
            layout=version.layout,
            bullets=content.bullets,
            speaker_notes=content.speaker_notes,
            author_kind=version.author_kind,
            author_user_id=version.author_user_id,
            author_key_id=version.author_key_id,
            job_id=version.job_id,
            reason=version.reason,
            note=version.note,
            created_at=version.created_at,
        )
