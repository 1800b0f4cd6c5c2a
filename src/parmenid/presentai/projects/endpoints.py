"""`/api/v1/projects`: an organization's projects (editors manage them, members read them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from parmenid.core.errors import Text
from parmenid.core.web import require_json
from parmenid.identity.models import Role
from parmenid.presentai.authz import (
    OrgAccess,
    in_body_organization,
    in_query_organization,
    on_resource,
    owned_by,
)
from parmenid.presentai.projects.models import Project
from parmenid.presentai.projects.service import Archived, ProjectService
from parmenid.webapp import SessionDep

router = APIRouter(prefix="/projects", tags=["Projects"], dependencies=[Depends(require_json)])


PROJECT = Text("Project", "Проект")
Creator = Annotated[OrgAccess, Depends(in_body_organization(Role.EDITOR, "presentations:write"))]
Lister = Annotated[OrgAccess, Depends(in_query_organization(Role.VIEWER, "presentations:read"))]
Reader = Annotated[
    OrgAccess,
    Depends(
        on_resource("project_id", owned_by(Project), PROJECT, Role.VIEWER, "presentations:read")
    ),
]
Editor = Annotated[
    OrgAccess,
    Depends(
        on_resource("project_id", owned_by(Project), PROJECT, Role.EDITOR, "presentations:write")
    ),
]


class ProjectCreate(BaseModel):
    organization_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    archived: bool | None = Field(default=None, description="true archives, false unarchives")


class ProjectOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str | None
    archived: bool
    archived_at: datetime | None
    presentations_count: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, project: Project, presentations: int) -> ProjectOut:
        return cls(
            id=project.id,
            organization_id=project.organization_id,
            name=project.name,
            description=project.description,
            archived=project.archived_at is not None,
            archived_at=project.archived_at,
            presentations_count=presentations,
            created_by=project.created_by_id,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


class ProjectPageOut(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def _actor_id(access: OrgAccess) -> uuid.UUID | None:
    return access.caller.user.id if access.caller.user else None


@router.post("", status_code=201, response_model=ProjectOut)
async def create_project(body: ProjectCreate, access: Creator, session: SessionDep) -> ProjectOut:
    project = await ProjectService(session).create(
        access.organization.id, _actor_id(access), body.name, body.description
    )
    access.caller.audit(
        "project.created",
        target_type="project",
        target_id=project.id,
        changes={"name": project.name},
    )
    return ProjectOut.of(project, 0)


@router.get("", response_model=ProjectPageOut)
async def list_projects(
    access: Lister,
    session: SessionDep,
    archived: Annotated[Archived, Query(description="false (default), true or all")] = "false",
    q: Annotated[
        str | None, Query(max_length=200, description="Search in name/description")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProjectPageOut:
    """Newest first; `organization_id` in the query (an API key may omit it)."""
    page = await ProjectService(session).page(
        access.organization.id, archived=archived, query_text=q, cursor=cursor, limit=limit
    )
    return ProjectPageOut(
        items=[ProjectOut.of(p, n) for p, n in page.items], next_cursor=page.next_cursor
    )


@router.get("/{project_id}", response_model=ProjectOut)
async def get_project(project_id: uuid.UUID, access: Reader, session: SessionDep) -> ProjectOut:
    service = ProjectService(session)
    project = await service.get(project_id)
    return ProjectOut.of(project, await service.presentations_in(project_id, with_deleted=False))


@router.patch("/{project_id}", response_model=ProjectOut)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, access: Editor, session: SessionDep
) -> ProjectOut:
    """Renames, describes, archives (`archived: true`) or unarchives (`archived: false`)."""
    service = ProjectService(session)
    project = await service.get(project_id)
    changes = await service.update(
        project,
        name=body.name,
        description=body.description,
        clear_description="description" in body.model_fields_set and body.description is None,
        archived=body.archived,
    )
    if changes:
        access.caller.audit(
            "project.updated", target_type="project", target_id=project.id, changes=changes
        )
    return ProjectOut.of(project, await service.presentations_in(project_id, with_deleted=False))


@router.delete(
    "/{project_id}",
    status_code=204,
    response_class=Response,
    responses={409: {"description": "conflict: the project still holds presentations"}},
)
async def delete_project(project_id: uuid.UUID, access: Editor, session: SessionDep) -> Response:
    """Deletes an empty project; one that holds presentations answers 409 (archive it)."""
    service = ProjectService(session)
    project = await service.get(project_id)
    await service.delete(project)
    access.caller.audit(
        "project.deleted",
        target_type="project",
        target_id=project_id,
        changes={"name": project.name},
    )
    return Response(status_code=204)
