"""Listing an organization's presentations: filters, search, sorts and cursor pages.

A cursor is opaque to clients; it holds the sort, the order, the last item's sort value and its
id (the tie-breaker), so pages are stable under inserts for every sort and no item is skipped or
repeated between pages. A cursor made for another sort or order answers 422.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from parmenid.core.db import utcnow
from parmenid.core.errors import FieldProblem, Text, ValidationFailed
from parmenid.presentai.presentations.models import (
    Presentation,
    PresentationSource,
    PresentationStatus,
)
from parmenid.presentai.slides.models import Slide

SortField = Literal["created_at", "updated_at", "title"]
SortOrder = Literal["asc", "desc"]

BAD_CURSOR = Text("The cursor is invalid.", "Некорректный курсор.")
OTHER_SORT = Text(
    "The cursor was made for another sort or order; start again without a cursor.",
    "Курсор получен для другой сортировки; начните заново без курсора.",
)
UNSEARCHABLE = Text(
    "q: the text has characters that cannot be searched for (NUL).",
    "q: в тексте есть символы, по которым нельзя искать (NUL).",
)
STATUSES = [status.value for status in PresentationStatus]


def invalid(field_name: str, text: Text) -> ValidationFailed:
    return ValidationFailed(text, problems=[FieldProblem(field_name, text)])


def parse_statuses(values: list[str] | None) -> list[str]:
    """`status` repeated and/or comma-separated; 422 for an unknown one."""
    found: list[str] = []
    for value in values or []:
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            if name not in STATUSES:
                raise invalid(
                    "status",
                    Text(
                        f"status: unknown value {part.strip()!r}; one of {', '.join(STATUSES)}",
                        f"status: неизвестное значение {part.strip()!r}; допустимо: "
                        f"{', '.join(STATUSES)}",
                    ),
                )
            found.append(name)
    return found


def search_query(value: str | None) -> str | None:
    """The `q` text, or 422 for one that no database can compare (NUL, lone surrogates)."""
    if value is None or not value.strip():
        return None
    if not _storable(value):
        raise invalid("q", UNSEARCHABLE)
    return value.strip()


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def as_utc(value: datetime | None, field_name: str) -> datetime | None:
    """A query datetime as aware UTC (a naive one is taken as UTC)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise invalid(
            field_name,
            Text(f"{field_name}: the date is out of range", f"{field_name}: дата вне диапазона"),
        ) from exc


@dataclass(frozen=True)
class Filters:
    statuses: list[str] = field(default_factory=list)
    project_id: uuid.UUID | None = None
    author_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    query_text: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class PresentationPage:
    items: list[tuple[Presentation, int, int]]  # with its slide and source counts
    next_cursor: str | None


def _column(sort: SortField) -> InstrumentedAttribute[Any]:
    columns: dict[str, InstrumentedAttribute[Any]] = {
        "created_at": Presentation.created_at,
        "updated_at": Presentation.updated_at,
        "title": Presentation.title,
    }
    return columns[sort]


def encode_cursor(sort: SortField, order: SortOrder, item: Presentation) -> str:
    value = getattr(item, sort)
    raw = json.dumps(
        [sort, order, value.isoformat() if isinstance(value, datetime) else value, str(item.id)],
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortField, order: SortOrder) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        made_for, made_order, value, item = json.loads(raw)
        item_id = uuid.UUID(str(item))
        if made_for in ("created_at", "updated_at"):
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is None:
                raise ValueError("naive")
            value = moment
        elif not isinstance(value, str) or not _storable(value):
            raise ValueError("title")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid("cursor", BAD_CURSOR) from exc
    if (made_for, made_order) != (sort, order):
        raise invalid("cursor", OTHER_SORT)
    return value, item_id


def _filtered(
    query: Select[Any], organization_id: uuid.UUID, filters: Filters, retention: timedelta
) -> Select[Any]:
    query = query.where(Presentation.organization_id == organization_id)
    if filters.deleted:
        query = query.where(Presentation.deleted_at > utcnow() - retention)
    else:
        query = query.where(Presentation.deleted_at.is_(None))
    if filters.statuses:
        query = query.where(Presentation.status.in_(filters.statuses))
    if filters.project_id is not None:
        query = query.where(Presentation.project_id == filters.project_id)
    if filters.author_id is not None:
        query = query.where(Presentation.created_by_id == filters.author_id)
    if filters.created_from is not None:
        query = query.where(Presentation.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Presentation.created_at <= filters.created_to)
    if filters.query_text:
        query = query.where(
            Presentation.search_text.contains(filters.query_text.casefold(), autoescape=True)
        )
    return query


async def page(
    session: AsyncSession,
    organization_id: uuid.UUID,
    filters: Filters,
    *,
    sort: SortField,
    order: SortOrder,
    cursor: str | None,
    limit: int,
    retention: timedelta,
) -> PresentationPage:
    """One page of the organization's presentations (the trash when `filters.deleted`)."""
    slides = (
        select(func.count())
        .select_from(Slide)
        .where(Slide.presentation_id == Presentation.id)
        .correlate(Presentation)
        .scalar_subquery()
    )
    sources = (
        select(func.count())
        .select_from(PresentationSource)
        .where(PresentationSource.presentation_id == Presentation.id)
        .correlate(Presentation)
        .scalar_subquery()
    )
    column = _column(sort)
    query = _filtered(select(Presentation, slides, sources), organization_id, filters, retention)
    if order == "desc":
        query = query.order_by(column.desc(), Presentation.id.desc())
    else:
        query = query.order_by(column.asc(), Presentation.id.asc())
    if cursor:
        value, last_id = decode_cursor(cursor, sort, order)
        if order == "desc":
            after = or_(column < value, and_(column == value, Presentation.id < last_id))
        else:
            after = or_(column > value, and_(column == value, Presentation.id > last_id))
        query = query.where(after)
    rows = [
        (presentation, int(n_slides), int(n_sources))
        for presentation, n_slides, n_sources in (
            await session.execute(query.limit(limit + 1))
        ).all()
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, order, rows[-1][0]) if more and rows else None
    return PresentationPage(rows, next_cursor)
