"""Slides: `/presentations/{id}/slides` (list, add, reorder) and `/slides/{id}` (get, edit,
delete, versions, restore). Viewers read, editors write; keys need presentations:read/write.

Optimistic concurrency: slide responses carry `ETag: "<version>"`; send it back as `If-Match`
(or `expected_version` in a PATCH body) and a slide changed meanwhile answers 409 with
`current_version`. Slide lists carry an `order_token`; send it as `If-Match` on reorder and an
order changed meanwhile answers 409 with the current order.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from parmenid.core.errors import FieldProblem, Text, ValidationFailed
from parmenid.core.web import require_json
from parmenid.presentai.authz import Caller, OrgAccess
from parmenid.presentai.presentations.auth import (
    PresentationEditor,
    PresentationReader,
    SlideEditor,
    SlideReader,
)
from parmenid.presentai.slides.models import Slide
from parmenid.presentai.slides.schemas import Bullet, LayoutName, SlideOut, SlideVersionOut
from parmenid.presentai.slides.service import MAX_SLIDES, SlideEdit, SlideService, order_token
from parmenid.presentai.slides.versions import Author
from parmenid.webapp import SessionDep

router = APIRouter(tags=["Slides"], dependencies=[Depends(require_json)])

MAX_VERSION = 2**31 - 1
BAD_IF_MATCH = Text(
    'If-Match must hold entity tags as sent in ETag, e.g. "3", or *.',
    'If-Match должен содержать метки из ETag, например "3", или *.',
)
DISAGREE = Text(
    "If-Match and expected_version name different versions.",
    "If-Match и expected_version указывают разные версии.",
)


def _bullet(value: Any) -> Any:
    """A plain string is a bullet without attribution; text is trimmed."""
    if isinstance(value, str):
        return {"text": value.strip(), "attribution": None}
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return {**value, "text": value["text"].strip()}
    return value


BulletIn = Annotated[Bullet, BeforeValidator(_bullet)]
Bullets = Annotated[
    list[BulletIn],
    Field(
        max_length=30,
        description="Each a string, or {text, attribution}: an attribution is kept only when "
        "sent back as received (a plain string has none).",
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=2000,
        description='The ETag you have: `"<version>"` for a slide, the `order_token` on reorder',
    ),
]


class SlideCreate(BaseModel):
    position: int | None = Field(
        default=None, ge=1, le=MAX_SLIDES, description="1-based; default: after the last slide"
    )
    title: Title | None = None
    layout: LayoutName | None = None
    bullets: Bullets | None = None
    speaker_notes: Notes | None = None


class SlideUpdate(BaseModel):
    title: Title | None = None
    layout: LayoutName | None = None
    bullets: Bullets | None = Field(default=None, description="The full new list; [] clears")
    speaker_notes: Notes | None = None
    expected_version: int | None = Field(
        default=None, ge=0, le=MAX_VERSION, description="Like If-Match: the version you edited"
    )


class SlideOrder(BaseModel):
    slide_ids: list[uuid.UUID] = Field(
        max_length=MAX_SLIDES, description="Every slide of the presentation, in the new order"
    )


class SlideListOut(BaseModel):
    items: list[SlideOut]
    order_token: str = Field(description="Send as If-Match on reorder")


class SlideVersionPageOut(BaseModel):
    items: list[SlideVersionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for older versions.")


def _author(caller: Caller) -> Author:
    if caller.key is not None:
        return Author("api_key", key_id=caller.key.id)
    assert caller.user is not None
    return Author("user", user_id=caller.user.id)


def _edit(body: SlideCreate | SlideUpdate) -> SlideEdit:
    return SlideEdit(
        title=body.title, layout=body.layout, bullets=body.bullets, speaker_notes=body.speaker_notes
    )


def _entity_tags(if_match: str | None) -> list[str] | None:
    """The tags of an If-Match header; None for `*` or no header."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = []
    for part in if_match.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if not tag or '"' in tag:
            raise ValidationFailed(BAD_IF_MATCH, problems=[FieldProblem("If-Match", BAD_IF_MATCH)])
        tags.append(tag)
    return tags


def _expected_versions(if_match: str | None, body_version: int | None = None) -> set[int] | None:
    tags = _entity_tags(if_match)
    if tags is not None and not all(t.isdigit() and int(t) <= MAX_VERSION for t in tags):
        raise ValidationFailed(BAD_IF_MATCH, problems=[FieldProblem("If-Match", BAD_IF_MATCH)])
    versions = None if tags is None else {int(tag) for tag in tags}
    if body_version is None:
        return versions
    if versions is not None and body_version not in versions:
        raise ValidationFailed(DISAGREE, problems=[FieldProblem("expected_version", DISAGREE)])
    return {body_version}


def _slide_out(slide: Slide, response: Response) -> SlideOut:
    response.headers["ETag"] = f'"{slide.version}"'
    return SlideOut.of(slide)


def _audit_slide(access: OrgAccess, action: str, slide: Slide, changes: dict[str, Any]) -> None:
    access.caller.audit(
        action,
        target_type="slide",
        target_id=slide.id,
        changes={"presentation_id": str(slide.presentation_id), **changes},
    )


@router.get("/presentations/{presentation_id}/slides", response_model=SlideListOut)
async def list_slides(
    presentation_id: uuid.UUID, access: PresentationReader, session: SessionDep
) -> SlideListOut:
    """The presentation's slides in order, with the token of that order."""
    service = SlideService(session)
    await service.presentation(presentation_id)
    slides = await service.slides_of(presentation_id)
    return SlideListOut(
        items=[SlideOut.of(s) for s in slides], order_token=order_token([s.id for s in slides])
    )


@router.post(
    "/presentations/{presentation_id}/slides",
    status_code=201,
    response_model=SlideOut,
    responses={409: {"description": "conflict: the presentation is being generated"}},
)
async def add_slide(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    session: SessionDep,
    request: Request,
    response: Response,
    body: SlideCreate | None = None,
) -> SlideOut:
    """Adds a slide at `position` (default: the end), moving later slides down; version 1.
    Without content it is `empty`. At most 100 slides per presentation (422)."""
    body = body or SlideCreate()
    slide = await SlideService(session).add(
        presentation_id, _author(access.caller), _edit(body), body.position
    )
    _audit_slide(access, "slide.created", slide, {"position": slide.position})
    response.headers["Location"] = str(request.url_for("get_slide", slide_id=slide.id))
    return _slide_out(slide, response)


@router.post(
    "/presentations/{presentation_id}/slides/reorder",
    response_model=SlideListOut,
    responses={409: {"description": "conflict: the slides or their order changed meanwhile"}},
)
async def reorder_slides(
    presentation_id: uuid.UUID,
    body: SlideOrder,
    access: PresentationEditor,
    session: SessionDep,
    if_match: IfMatch = None,
) -> SlideListOut:
    """Sets the full order. `slide_ids` must be exactly the current slides (else 409 with
    `current_order` and `order_token`; duplicates 422). With `If-Match: "<order_token>"` a
    reorder made meanwhile by someone else also answers 409 instead of being overwritten."""
    tags = _entity_tags(if_match)
    ordered, before = await SlideService(session).reorder(presentation_id, body.slide_ids, tags)
    after = [slide.id for slide in ordered]
    if after != before:
        access.caller.audit(
            "slides.reordered",
            target_type="presentation",
            target_id=presentation_id,
            changes={"from": [str(i) for i in before], "to": [str(i) for i in after]},
        )
    return SlideListOut(items=[SlideOut.of(s) for s in ordered], order_token=order_token(after))


@router.get("/slides/{slide_id}", response_model=SlideOut)
async def get_slide(
    slide_id: uuid.UUID, access: SlideReader, session: SessionDep, response: Response
) -> SlideOut:
    """The slide with `ETag: "<version>"`."""
    return _slide_out(await SlideService(session).get(slide_id), response)


@router.patch(
    "/slides/{slide_id}",
    response_model=SlideOut,
    responses={409: {"description": "conflict: stale If-Match, or generation is running"}},
)
async def update_slide(
    slide_id: uuid.UUID,
    body: SlideUpdate,
    access: SlideEditor,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SlideOut:
    """Edits title, layout, bullets and notes as one new version ("edited"); an edit that
    changes nothing writes no version. `If-Match: "<version>"` (or `expected_version`) makes a
    stale edit answer 409 with `current_version`."""
    expected = _expected_versions(if_match, body.expected_version)
    slide, changes = await SlideService(session).update(
        slide_id, _author(access.caller), _edit(body), expected
    )
    if changes:
        _audit_slide(access, "slide.updated", slide, changes)
    return _slide_out(slide, response)


@router.delete("/slides/{slide_id}", status_code=204, response_class=Response)
async def delete_slide(
    slide_id: uuid.UUID, access: SlideEditor, session: SessionDep, if_match: IfMatch = None
) -> Response:
    """Deletes the slide and its versions; later slides move up one place."""
    slide = await SlideService(session).delete(slide_id, _expected_versions(if_match))
    _audit_slide(access, "slide.deleted", slide, {"title": slide.title, "position": slide.position})
    return Response(status_code=204)


@router.get("/slides/{slide_id}/versions", response_model=SlideVersionPageOut)
async def list_slide_versions(
    slide_id: uuid.UUID,
    access: SlideReader,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SlideVersionPageOut:
    """Newest first, `limit` at a time; pass `next_cursor` as `cursor` for older ones."""
    page = await SlideService(session).versions(slide_id, cursor, limit)
    return SlideVersionPageOut(
        items=[SlideVersionOut.of(v) for v in page.items], next_cursor=page.next_cursor
    )


@router.post("/slides/{slide_id}/restore/{version}", response_model=SlideOut)
async def restore_slide_version(
    slide_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
    access: SlideEditor,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> SlideOut:
    """The old version's title, layout and content become a new version ("restored", note
    "from v<n>"); an unknown version answers 404."""
    slide = await SlideService(session).restore(
        slide_id, version, _author(access.caller), _expected_versions(if_match)
    )
    _audit_slide(
        access,
        "slide.restored",
        slide,
        {"restored": version, "version": {"from": slide.version - 1, "to": slide.version}},
    )
    return _slide_out(slide, response)
