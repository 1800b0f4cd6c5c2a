"""What viewers of shared decks did: views, unique viewers and time per slide, without
personal data.

Rules that are not obvious from the code:
* A view starts when the viewer page shows the deck (`POST .../views`). The visitor is stored
  only as HMAC-SHA256(salt of the UTC day, IP + user agent). Each day's salt is random, made on
  the day's first view, and deleted once the day is over, on the next day's first view and by
  the `analytics.forget_salts` job queued for just after midnight. Without the salt a hash can
  never be recomputed from an IP address, so views are unique within a day and not linkable
  across days: a period's `unique_viewers` is the sum of its daily counts.
* The page reports time per slide as running totals (`{"1": 5300, "2": 1200}`), so a report
  that is lost, repeated or late changes nothing. A report can only add: per slide by at most
  `share_dwell_event_max_ms`, per view up to `share_dwell_view_max_ms`, and never more than the
  time since the view began (a few seconds' slack). Slides that do not exist, and values that
  are not finite non-negative numbers, are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import new_id
from parmenid.core.errors import NotFound, Text
from parmenid.core.jobs import Handler, JobContext, enqueue
from parmenid.presentai.shares.models import AnalyticsSalt, Share, ShareView
from parmenid.presentai.shares.schemas import (
    AnalyticsOut,
    DayOut,
    ShareCountsOut,
    SlideDwellOut,
    Totals,
)
from parmenid.presentai.shares.service import status_of

FORGET_SALTS_JOB = "analytics.forget_salts"
VIEW_NOT_FOUND = Text("View not found", "Просмотр не найден")
SLACK_MS = 5_000  # the page counts time from showing the deck, a moment before the view starts
MAX_USER_AGENT = 512
MAX_SLIDE_DIGITS = 4


@dataclass(frozen=True)
class DwellCaps:
    per_event_ms: int
    per_view_ms: int


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


async def salt_of(session: AsyncSession, day: date) -> bytes:
    """The salt of `day`, made on first use; making it also forgets older days' salts."""
    found: bytes | None = await session.scalar(
        select(AnalyticsSalt.salt).where(AnalyticsSalt.day == day)
    )
    if found is not None:
        return found
    # Two first views of a day may race: the loser reads the winner's salt.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = await session.scalar(
        insert(AnalyticsSalt)
        .values(id=new_id(), day=day, salt=os.urandom(32))
        .on_conflict_do_nothing(index_elements=["day"])
        .returning(AnalyticsSalt.id)
    )
    if created is not None:
        await forget_salts(session, day)
        next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        enqueue(
            session,
            FORGET_SALTS_JOB,
            {"day": (day + timedelta(days=1)).isoformat()},
            run_at=next_midnight + timedelta(seconds=30),
        )
    salt = await session.scalar(select(AnalyticsSalt.salt).where(AnalyticsSalt.day == day))
    assert salt is not None
    return salt


async def forget_salts(session: AsyncSession, today: date) -> int:
    """Delete the salts of the days before `today`; how many went."""
    result = await session.execute(delete(AnalyticsSalt).where(AnalyticsSalt.day < today))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_salts_handler() -> Handler:
    """`analytics.forget_salts`: delete every salt older than the current UTC day (idempotent;
    running it early deletes nothing it should keep)."""

    async def handle(payload: dict[str, Any], context: JobContext) -> dict[str, Any]:
        async with context.db.session() as session:
            deleted = await forget_salts(session, day_of(datetime.now(UTC)))
        return {"deleted": deleted}

    return handle


def viewer_hash(salt: bytes, ip: str, user_agent: str) -> str:
    visitor = f"{ip}\n{user_agent[:MAX_USER_AGENT]}".encode("utf-8", "replace")
    return hmac.new(salt, visitor, hashlib.sha256).hexdigest()


async def start_view(
    session: AsyncSession, share: Share, ip: str, user_agent: str, now: datetime
) -> ShareView:
    day = day_of(now)
    view = ShareView(
        organization_id=share.organization_id,
        presentation_id=share.presentation_id,
        share_id=share.id,
        day=day,
        viewer=viewer_hash(await salt_of(session, day), ip, user_agent),
        dwell_ms={},
        total_ms=0,
        last_seen_at=now,
        created_at=now,
    )
    session.add(view)
    await session.flush()
    return view


def reported_dwell(reported: Any, slide_count: int) -> dict[int, int]:
    """The usable part of a report: known slide numbers with finite, non-negative times."""
    usable: dict[int, int] = {}
    if not isinstance(reported, Mapping):
        return usable
    for key, value in reported.items():
        if not isinstance(key, str) or not (key.isascii() and key.isdigit()):
            continue
        if len(key) > MAX_SLIDE_DIGITS:
            continue
        number = int(key)
        if not 1 <= number <= slide_count:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value) or value < 0:
            continue
        usable[number] = int(min(value, 2**53))
    return usable


async def record_dwell(
    session: AsyncSession,
    share: Share,
    view_id: uuid.UUID,
    reported: dict[int, int],
    caps: DwellCaps,
    now: datetime,
) -> ShareView:
    """Raise the view's running totals to the reported ones, within the caps."""
    # Writing first locks the row (PostgreSQL) or the database (SQLite, whose transaction
    # begins at the first write), so two reports of one view are applied one after the other.
    mine = (ShareView.id == view_id) & (ShareView.share_id == share.id)
    touched = await session.execute(
        update(ShareView)
        .where(mine)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(touched, "rowcount", 0):
        raise NotFound(VIEW_NOT_FOUND)
    view = await session.scalar(
        select(ShareView).where(mine).execution_options(populate_existing=True)
    )
    assert view is not None
    dwell = {str(k): int(v) for k, v in (view.dwell_ms or {}).items()}
    elapsed_ms = int((now - view.created_at).total_seconds() * 1000) + SLACK_MS
    budget = min(caps.per_view_ms, elapsed_ms) - sum(dwell.values())
    for number in sorted(reported):
        if budget <= 0:
            break
        key = str(number)
        before = dwell.get(key, 0)
        increment = min(reported[number] - before, caps.per_event_ms, budget)
        if increment > 0:
            dwell[key] = before + increment
            budget -= increment
    view.dwell_ms = dwell
    view.total_ms = sum(dwell.values())
    view.last_seen_at = now
    await session.flush()
    return view


@dataclass
class _Bucket:
    views: int = 0
    viewers: set[tuple[date, str]] = field(default_factory=set)
    time_ms: int = 0

    def add(self, day: date, viewer: str, total_ms: int) -> None:
        self.views += 1
        self.viewers.add((day, viewer))
        self.time_ms += total_ms


async def report(
    session: AsyncSession,
    presentation_id: uuid.UUID,
    date_from: date,
    date_to: date,
    slide_count: int,
    now: datetime,
) -> AnalyticsOut:
    """Totals, a per-day series (every day of the period), per-slide dwell and per-share
    counts of the views that began between `date_from` and `date_to` (UTC days, inclusive)."""
    rows = await session.execute(
        select(
            ShareView.share_id,
            ShareView.day,
            ShareView.viewer,
            ShareView.total_ms,
            ShareView.dwell_ms,
        ).where(
            ShareView.presentation_id == presentation_id,
            ShareView.day >= date_from,
            ShareView.day <= date_to,
        )
    )
    total = _Bucket()
    days: dict[date, _Bucket] = defaultdict(_Bucket)
    shares: dict[uuid.UUID, _Bucket] = defaultdict(_Bucket)
    slide_views: dict[int, int] = defaultdict(int)
    slide_time: dict[int, int] = defaultdict(int)
    for share_id, day, viewer, total_ms, dwell in rows.all():
        for bucket in (total, days[day], shares[share_id]):
            bucket.add(day, viewer, int(total_ms or 0))
        for key, value in (dwell or {}).items():
            if str(key).isdigit() and isinstance(value, int) and value > 0:
                slide_views[int(key)] += 1
                slide_time[int(key)] += value
    numbers = sorted(set(range(1, slide_count + 1)) | set(slide_time))
    links = await session.scalars(
        select(Share)
        .where(Share.presentation_id == presentation_id)
        .order_by(Share.created_at, Share.id)
    )
    period = (date_to - date_from).days + 1
    return AnalyticsOut(
        date_from=date_from,
        date_to=date_to,
        totals=Totals(
            views=total.views,
            unique_viewers=len(total.viewers),
            total_time_ms=total.time_ms,
            avg_time_ms=total.time_ms // total.views if total.views else 0,
        ),
        daily=[
            DayOut(
                day=day,
                views=days[day].views if day in days else 0,
                unique_viewers=len(days[day].viewers) if day in days else 0,
                total_time_ms=days[day].time_ms if day in days else 0,
            )
            for day in (date_from + timedelta(days=n) for n in range(period))
        ],
        slides=[
            SlideDwellOut(
                slide_number=number,
                views=slide_views[number],
                total_dwell_ms=slide_time[number],
                avg_dwell_ms=slide_time[number] // slide_views[number]
                if slide_views[number]
                else 0,
            )
            for number in numbers
        ],
        shares=[
            ShareCountsOut(
                share_id=link.id,
                token_hint=link.token_hint,
                status=status_of(link, now),
                views=shares[link.id].views if link.id in shares else 0,
                unique_viewers=len(shares[link.id].viewers) if link.id in shares else 0,
                total_time_ms=shares[link.id].time_ms if link.id in shares else 0,
            )
            for link in links
        ],
    )
