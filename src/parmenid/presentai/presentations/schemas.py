"""Presentation requests and responses."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from parmenid.core.errors import Text
from parmenid.core.web import field_error
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.slides.schemas import SlideOut

StatusName = Literal[
    "draft", "outline_generating", "outline_ready", "slides_generating", "ready", "failed"
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Tone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Audience = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
SlideCount = Annotated[int, Field(ge=1, le=50)]
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}")
BAD_LANGUAGE = Text(
    "language: a language code such as ru, en or en-GB",
    "language: код языка, например ru, en или en-GB",
)


def _language(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        if not LANGUAGE_TAG.fullmatch(value):
            raise field_error("language", BAD_LANGUAGE)
    return value


# A BCP 47-like tag, lower-cased: "ru", "en", "en-gb", "pt-br", "zh-hans".
Language = Annotated[str, BeforeValidator(_language)]

DEFAULTS: dict[str, Any] = {
    "tone": None,
    "audience": None,
    "slide_count": 10,
    "language": "ru",
    "brand_kit_id": None,
}
NOT_NULL = Text("may not be null", "не может быть null")


class PresentationCreate(BaseModel):
    organization_id: uuid.UUID | None = Field(
        default=None, description="Optional: the project's organization is used"
    )
    project_id: uuid.UUID
    title: Title
    tone: Tone | None = Field(default=None, description="e.g. formal, friendly, persuasive")
    audience: Audience | None = Field(default=None, description="Who the slides are for")
    slide_count: SlideCount = 10
    language: Language = Field(default="ru", description="ru, en, ... (BCP 47)")
    brand_kit_id: uuid.UUID | None = None

    def parameters(self) -> dict[str, Any]:
        return {
            "tone": self.tone or None,
            "audience": self.audience or None,
            "slide_count": self.slide_count,
            "language": self.language,
            "brand_kit_id": str(self.brand_kit_id) if self.brand_kit_id else None,
        }


class PresentationUpdate(BaseModel):
    """Only the fields sent change; `tone`, `audience` and `brand_kit_id` may be set to null."""

    title: Title | None = None
    tone: Tone | None = None
    audience: Audience | None = None
    slide_count: SlideCount | None = None
    language: Language | None = None
    brand_kit_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = Field(
        default=None, description="Move to another project of the same organization"
    )

    @field_validator("title", "slide_count", "language", "project_id")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # runs only for values that were sent
            raise field_error("not_null", NOT_NULL)
        return value

    def parameter_changes(self) -> dict[str, Any]:
        """The generation parameters that were sent, as stored."""
        sent = self.model_fields_set
        values: dict[str, Any] = {
            "tone": self.tone or None,
            "audience": self.audience or None,
            "slide_count": self.slide_count,
            "language": self.language,
            "brand_kit_id": str(self.brand_kit_id) if self.brand_kit_id else None,
        }
        return {name: value for name, value in values.items() if name in sent}


class PresentationCopy(BaseModel):
    title: Title | None = Field(default=None, description='Default: "<title> (copy)"')
    project_id: uuid.UUID | None = Field(default=None, description="Default: the same project")


class SourceAdd(BaseModel):
    """Exactly one of `file_id` (a document already uploaded to the organization) or `url`."""

    file_id: uuid.UUID | None = Field(default=None, description="An id from POST /files/upload")
    url: str | None = Field(
        default=None, min_length=1, max_length=2000, description="An http(s) address"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceAdd:
        if (self.file_id is None) == (self.url is None):
            raise field_error(
                "exactly_one",
                Text(
                    "Send exactly one of file_id or url.",
                    "Укажите ровно одно из полей: file_id или url.",
                ),
            )
        return self


class CurrentJobOut(BaseModel):
    id: uuid.UUID
    kind: Literal["outline", "slides", "slide"]
    status: Literal["queued", "running", "succeeded", "failed"]
    progress_pct: int
    error_code: str | None
    error_message: str | None

    @classmethod
    def of(cls, job: GenerationJob) -> CurrentJobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            progress_pct=job.progress_pct,
            error_code=job.error_code,
            error_message=job.error_message,
        )


class SourceOut(BaseModel):
    id: uuid.UUID = Field(description="The link's id (for DELETE .../sources/{source_id})")
    document_id: uuid.UUID = Field(description="The file's id (GET /files/{id})")
    filename: str
    kind: str | None
    title: str | None
    source_url: str | None
    size_bytes: int
    page_count: int | None
    ingestion_status: Literal["pending", "processing", "indexed", "failed"]
    chunks_created: int
    error_code: str | None
    error_message: str | None
    indexed_at: datetime | None
    added_by: uuid.UUID | None
    added_at: datetime

    @classmethod
    def of(cls, link: PresentationSource, document: SourceDocument) -> SourceOut:
        return cls(
            id=link.id,
            document_id=document.id,
            filename=document.filename,
            kind=document.kind,
            title=document.title,
            source_url=document.source_url,
            size_bytes=document.size_bytes,
            page_count=document.page_count,
            ingestion_status=document.ingestion_status,
            chunks_created=document.chunks_created,
            error_code=document.error_code,
            error_message=document.error_message,
            indexed_at=document.indexed_at,
            added_by=link.added_by_id,
            added_at=link.created_at,
        )


class SourceListOut(BaseModel):
    items: list[SourceOut]


class PresentationSummaryOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    project_id: uuid.UUID
    title: str
    status: StatusName
    failure_reason: str | None
    tone: str | None
    audience: str | None
    slide_count: int
    language: str
    brand_kit_id: uuid.UUID | None
    slides_count: int
    sources_count: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    purge_at: datetime | None = Field(
        description="For a deleted presentation: when it is deleted for good"
    )

    @classmethod
    def fields_of(
        cls, presentation: Presentation, slides: int, sources: int, purge_at: datetime | None
    ) -> dict[str, Any]:
        parameters = {**DEFAULTS, **(presentation.parameters or {})}
        return {
            "id": presentation.id,
            "organization_id": presentation.organization_id,
            "project_id": presentation.project_id,
            "title": presentation.title,
            "status": presentation.status,
            "failure_reason": presentation.failure_reason,
            "tone": parameters["tone"],
            "audience": parameters["audience"],
            "slide_count": parameters["slide_count"],
            "language": parameters["language"],
            "brand_kit_id": parameters["brand_kit_id"],
            "slides_count": slides,
            "sources_count": sources,
            "created_by": presentation.created_by_id,
            "created_at": presentation.created_at,
            "updated_at": presentation.updated_at,
            "deleted_at": presentation.deleted_at,
            "purge_at": purge_at,
        }


class PresentationPageOut(BaseModel):
    items: list[PresentationSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class PresentationOut(PresentationSummaryOut):
    """A presentation with everything the editor shows."""

    outline: list[dict[str, Any]] | None = Field(
        description="[{slide_number, title, key_points: [{text, attribution}]}], null before "
        "the outline is generated"
    )
    warnings: list[dict[str, Any]] = Field(description="[{code, message, at}]")
    current_job: CurrentJobOut | None = Field(description="The latest generation job")
    slides: list[SlideOut]
    sources: list[SourceOut]
