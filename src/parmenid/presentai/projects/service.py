"""Projects: create, find, rename, archive, and delete only when empty.

Rules that are not obvious from the code:
* Archiving hides a project from the default list; it stays readable and can be unarchived.
* A project is deleted only when it holds no presentation at all, soft-deleted ones included
  (they can still be restored into it): otherwise 409 `conflict` with the count.
* Lists are newest first with an opaque cursor (created_at, id), stable under inserts.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, Text, ValidationFailed, not_found
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project

Archived = Literal["false", "true", "all"]
BAD_CURSOR = Text("The cursor is invalid.", "Некорректный курсор.")


def search_text(name: str, description: str | None) -> str:
    return f"{name}\n{description or ''}".casefold()


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    raw = f"p|{created_at.isoformat()}|{item_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, moment, item = raw.split("|")
        if kind != "p":
            raise ValueError(kind)
        return datetime.fromisoformat(moment), uuid.UUID(item)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(BAD_CURSOR) from exc


@dataclass(frozen=True)
class ProjectPage:
    items: list[tuple[Project, int]]  # with its number of (live) presentations
    next_cursor: str | None


class ProjectService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        organization_id: uuid.UUID,
        created_by: uuid.UUID | None,
        name: str,
        description: str | None,
    ) -> Project:
        project = Project(
            organization_id=organization_id,
            created_by_id=created_by,
            name=name.strip(),
            description=description,
            search_text=search_text(name.strip(), description),
        )
        self.session.add(project)
        await self.session.flush()
        return project

    async def get(self, project_id: uuid.UUID) -> Project:
        project = await self.session.get(Project, project_id)
        if project is None:
            raise not_found("Project", "Проект")
        return project

    async def update(
        self,
        project: Project,
        *,
        name: str | None = None,
        description: str | None = None,
        clear_description: bool = False,
        archived: bool | None = None,
    ) -> dict[str, object]:
        """Apply the changes; returns what changed (for the audit log)."""
        before: dict[str, object] = {
            "name": project.name,
            "description": project.description,
            "archived": project.archived_at is not None,
        }
        if name is not None:
            project.name = name.strip()
        if description is not None or clear_description:
            project.description = description
        if archived is not None and archived != (project.archived_at is not None):
            project.archived_at = utcnow() if archived else None
        project.search_text = search_text(project.name, project.description)
        await self.session.flush()
        after: dict[str, object] = {
            "name": project.name,
            "description": project.description,
            "archived": project.archived_at is not None,
        }
        return {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}

    async def presentations_in(self, project_id: uuid.UUID, *, with_deleted: bool) -> int:
        query = select(func.count()).select_from(Presentation)
        query = query.where(Presentation.project_id == project_id)
        if not with_deleted:
            query = query.where(Presentation.deleted_at.is_(None))
        return int(await self.session.scalar(query) or 0)

    async def delete(self, project: Project) -> None:
        held = await self.presentations_in(project.id, with_deleted=True)
        if held:
            raise Conflict(
                Text(
                    f"The project still holds {held} presentation(s), counting deleted ones "
                    "that can be restored. Move or delete them first, or archive the project.",
                    f"В проекте ещё {held} презентаций (включая удалённые, которые можно "
                    "восстановить). Перенесите или удалите их либо архивируйте проект.",
                ),
                extra={"presentations": held},
            )
        await self.session.delete(project)
        await self.session.flush()

    async def page(
        self,
        organization_id: uuid.UUID,
        *,
        archived: Archived,
        query_text: str | None,
        cursor: str | None,
        limit: int,
    ) -> ProjectPage:
        live = (
            select(Presentation.project_id, func.count().label("count"))
            .where(Presentation.deleted_at.is_(None))
            .group_by(Presentation.project_id)
            .subquery()
        )
        query = (
            select(Project, func.coalesce(live.c.count, 0))
            .outerjoin(live, live.c.project_id == Project.id)
            .where(Project.organization_id == organization_id)
            .order_by(Project.created_at.desc(), Project.id.desc())
        )
        if archived == "false":
            query = query.where(Project.archived_at.is_(None))
        elif archived == "true":
            query = query.where(Project.archived_at.is_not(None))
        if query_text:
            query = query.where(
                Project.search_text.contains(query_text.casefold(), autoescape=True)
            )
        if cursor:
            moment, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    Project.created_at < moment,
                    and_(Project.created_at == moment, Project.id < last_id),
                )
            )
        rows = [(p, int(n)) for p, n in (await self.session.execute(query.limit(limit + 1))).all()]
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1][0] if rows else None
        return ProjectPage(
            rows, encode_cursor(last.created_at, last.id) if more and last is not None else None
        )
