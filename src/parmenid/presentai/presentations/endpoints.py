"""`/api/v1/presentations`: create, list, read, change, soft delete, restore, duplicate.

Editors write, viewers read; API keys need `presentations:write` / `presentations:read`. A
deleted presentation answers 404 everywhere except `POST .../restore`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from parmenid.core.errors import BadRequest, FieldProblem, NotFound, Text, ValidationFailed
from parmenid.core.web import MALFORMED_JSON, require_json
from parmenid.identity.models import Role
from parmenid.presentai.authz import (
    CallerDep,
    OrgAccess,
    Permission,
    authorize,
    in_query_organization,
    not_found_text,
    owned_by,
)
from parmenid.presentai.presentations.auth import (
    READ,
    WRITE,
    PresentationEditor,
    PresentationReader,
)
from parmenid.presentai.presentations.listing import (
    Filters,
    SortField,
    SortOrder,
    as_utc,
    page,
    parse_statuses,
    search_query,
)
from parmenid.presentai.presentations.schemas import (
    PresentationCopy,
    PresentationCreate,
    PresentationOut,
    PresentationPageOut,
    PresentationSummaryOut,
    PresentationUpdate,
)
from parmenid.presentai.presentations.service import (
    PROJECT,
    PresentationService,
    purge_time,
)
from parmenid.presentai.projects.models import Project
from parmenid.runtime import Runtime
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(
    prefix="/presentations", tags=["Presentations"], dependencies=[Depends(require_json)]
)

BUSY_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "conflict: the presentation is being generated"}
}


def retention_of(runtime: Runtime) -> timedelta:
    return timedelta(days=runtime.settings.presentai.presentation_retention_days)


async def service_of(session: SessionDep, runtime: RuntimeDep) -> PresentationService:
    return PresentationService(session, retention_of(runtime))


Service = Annotated[PresentationService, Depends(service_of)]


def _body_id(body: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(body[name]))
    except (KeyError, ValueError) as exc:
        text = Text(f"{name} must be a UUID.", f"{name}: нужен UUID.")
        raise ValidationFailed(
            text, problems=[FieldProblem(name, text, "missing" if name not in body else "uuid")]
        ) from exc


def in_body_project(minimum: Role, scope: str) -> Callable[..., Awaitable[OrgAccess]]:
    """Access to the organization named by the body's `organization_id`, or else to the one
    owning the body's `project_id` (another organization's project answers 404)."""

    async def access(request: Request, caller: CallerDep, session: SessionDep) -> OrgAccess:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise BadRequest(MALFORMED_JSON) from exc  # as the app answers malformed JSON
        if not isinstance(body, dict):
            body = {}  # the body's validation says what is wrong
        if body.get("organization_id") is not None:
            return await authorize(
                session, caller, _body_id(body, "organization_id"), minimum, scope
            )
        organization_id = await owned_by(Project)(session, _body_id(body, "project_id"))
        if organization_id is None:
            raise not_found_text(PROJECT)
        try:
            return await authorize(session, caller, organization_id, minimum, scope)
        except NotFound as exc:
            raise not_found_text(PROJECT) from exc

    # Declared as `in_body_organization` declares its own (the route matrix reads it).
    access.permission = Permission(  # type: ignore[attr-defined]
        "organization", minimum, scope, organization_from="body"
    )
    return access


Creator = Annotated[OrgAccess, Depends(in_body_project(Role.EDITOR, WRITE))]
Lister = Annotated[OrgAccess, Depends(in_query_organization(Role.VIEWER, READ))]


def _actor_id(access: OrgAccess) -> uuid.UUID | None:
    return access.caller.user.id if access.caller.user else None


@router.post(
    "",
    status_code=201,
    response_model=PresentationOut,
    responses={409: {"description": "conflict: the project is archived"}},
)
async def create_presentation(
    body: PresentationCreate, access: Creator, service: Service
) -> PresentationOut:
    """A draft in a project. `organization_id` may be left out: the project's is used."""
    presentation = await service.create(access.organization.id, _actor_id(access), body)
    access.caller.audit(
        "presentation.created",
        target_type="presentation",
        target_id=presentation.id,
        changes={"title": presentation.title, "project_id": str(presentation.project_id)},
    )
    return await service.details(presentation)


@router.get("", response_model=PresentationPageOut)
async def list_presentations(
    access: Lister,
    service: Service,
    status: Annotated[
        list[str] | None,
        Query(description="Repeat it or separate with commas: draft,ready,..."),
    ] = None,
    project_id: Annotated[uuid.UUID | None, Query()] = None,
    author_id: Annotated[uuid.UUID | None, Query(description="Who created it")] = None,
    created_from: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    created_to: Annotated[datetime | None, Query(description="ISO 8601, inclusive")] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Search in titles, outlines and slide text"),
    ] = None,
    deleted: Annotated[
        bool, Query(description="true lists the trash: deleted ones that can be restored")
    ] = False,
    sort: Annotated[SortField, Query()] = "created_at",
    order: Annotated[SortOrder, Query()] = "desc",
    cursor: Annotated[str | None, Query(max_length=1500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PresentationPageOut:
    """Summaries (no slides) of the organization's presentations, newest first by default;
    `organization_id` in the query (an API key may omit it)."""
    filters = Filters(
        statuses=parse_statuses(status),
        project_id=project_id,
        author_id=author_id,
        created_from=as_utc(created_from, "created_from"),
        created_to=as_utc(created_to, "created_to"),
        query_text=search_query(q),
        deleted=deleted,
    )
    found = await page(
        service.session,
        access.organization.id,
        filters,
        sort=sort,
        order=order,
        cursor=cursor,
        limit=limit,
        retention=service.retention,
    )
    return PresentationPageOut(
        items=[
            PresentationSummaryOut(
                **PresentationSummaryOut.fields_of(
                    p, slides, sources, purge_time(p, service.retention)
                )
            )
            for p, slides, sources in found.items
        ],
        next_cursor=found.next_cursor,
    )


@router.get("/{presentation_id}", response_model=PresentationOut)
async def get_presentation(
    presentation_id: uuid.UUID, access: PresentationReader, service: Service
) -> PresentationOut:
    """The presentation with its slides (in order), sources, outline, warnings and the latest
    generation job."""
    return await service.details(await service.get_live(presentation_id))


@router.patch("/{presentation_id}", response_model=PresentationOut, responses=BUSY_409)
async def update_presentation(
    presentation_id: uuid.UUID,
    body: PresentationUpdate,
    access: PresentationEditor,
    service: Service,
) -> PresentationOut:
    """Changes the title or generation parameters, or moves it to another project of the
    organization. Refused (409) while it is being generated."""
    presentation = await service.get_live(presentation_id)
    changes = await service.update(presentation, body)
    if changes:
        access.caller.audit(
            "presentation.updated",
            target_type="presentation",
            target_id=presentation.id,
            changes=changes,
        )
    return await service.details(presentation)


@router.delete("/{presentation_id}", status_code=204, response_class=Response, responses=BUSY_409)
async def delete_presentation(
    presentation_id: uuid.UUID, access: PresentationEditor, service: Service
) -> Response:
    """Moves it to the trash: hidden everywhere, restorable for the retention period
    (`purge_at` in the trash list), then deleted for good with its slides."""
    presentation = await service.get_live(presentation_id)
    purge_at = await service.delete(presentation)
    access.caller.audit(
        "presentation.deleted",
        target_type="presentation",
        target_id=presentation.id,
        changes={"title": presentation.title, "purge_at": purge_at.isoformat()},
    )
    return Response(status_code=204)


@router.post(
    "/{presentation_id}/restore",
    response_model=PresentationOut,
    responses={
        409: {"description": "conflict: the presentation is not deleted"},
        410: {"description": "gone: the retention period is over"},
    },
)
async def restore_presentation(
    presentation_id: uuid.UUID, access: PresentationEditor, service: Service
) -> PresentationOut:
    """Takes a deleted presentation out of the trash, within the retention period."""
    presentation = await service.restore(presentation_id)
    access.caller.audit(
        "presentation.restored", target_type="presentation", target_id=presentation.id
    )
    return await service.details(presentation)


@router.post(
    "/{presentation_id}/duplicate",
    status_code=201,
    response_model=PresentationOut,
    responses=BUSY_409,
)
async def duplicate_presentation(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    service: Service,
    body: Annotated[PresentationCopy | None, Body()] = None,
) -> PresentationOut:
    """A copy with the same parameters, outline, slides (with their version history) and
    sources (the same documents, not ingested again). Default title: "<title> (copy)"."""
    original = await service.get_live(presentation_id)
    copy = await service.duplicate(original, body or PresentationCopy(), _actor_id(access))
    access.caller.audit(
        "presentation.duplicated",
        target_type="presentation",
        target_id=copy.id,
        changes={"from": str(original.id), "title": copy.title},
    )
    return await service.details(copy)
