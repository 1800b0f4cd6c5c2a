"""Share links: create, list, revoke, and find the deck behind a token.

Rules that are not obvious from the code:
* A link has an optional expiry (at most a year ahead) and an optional password (argon2id).
* Revoking takes effect at once: every request looks the token up again, and a revoked link
  answers 404 like one that never existed. Revoking twice is not an error.
* An expired link answers 410 `gone`; a link of a deleted presentation answers 404 (and works
  again if the presentation is restored within its retention window).
* The public deck carries titles, layouts, bullet texts and their citations (label and
  document name). Internal ids, chunk excerpts and speaker notes stay private.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import new_id, utcnow
from parmenid.core.errors import FieldProblem, Gone, NotFound, Text, ValidationFailed
from parmenid.presentai.presentations.live import live_presentation
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.shares.crypto import ShareKeys, hash_token, looks_like_token, new_token
from parmenid.presentai.shares.models import Share, ShareView
from parmenid.presentai.shares.schemas import (
    MAX_DAYS,
    SharedBullet,
    SharedChart,
    SharedDeckOut,
    SharedSlide,
    SharedTable,
    ShareOut,
    ShareStatus,
)
from parmenid.presentai.slides.models import Slide
from parmenid.presentai.slides.schemas import SlideContent

T = TypeVar("T", bound=BaseModel)

SHARE_NOT_FOUND = Text("Share link not found", "Ссылка не найдена")
SHARE_EXPIRED = Text(
    "This share link has expired. Ask the presentation's owner for a new one.",
    "Срок действия ссылки истёк. Попросите автора презентации прислать новую.",
)
EXPIRY_PAST = Text("expires_at must be in the future.", "expires_at должен быть в будущем.")
EXPIRY_FAR = Text(
    f"A link can expire at most {MAX_DAYS} days from now.",
    f"Срок действия ссылки — не больше {MAX_DAYS} дней.",
)
HINT_LENGTH = 6


def status_of(share: Share, now: datetime) -> ShareStatus:
    if share.revoked_at is not None:
        return "revoked"
    if share.expires_at is not None and share.expires_at <= now:
        return "expired"
    return "active"


def expiry_of(
    expires_at: datetime | None, expires_in_days: int | None, now: datetime
) -> datetime | None:
    """The expiry asked for, checked: in the future, at most a year ahead (naive means UTC)."""
    if expires_in_days is not None:
        return now + timedelta(days=expires_in_days)
    if expires_at is None:
        return None
    moment = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
    if moment <= now:
        problem = FieldProblem("expires_at", EXPIRY_PAST, "past")
        raise ValidationFailed(EXPIRY_PAST, problems=[problem])
    if moment > now + timedelta(days=MAX_DAYS, minutes=5):
        problem = FieldProblem("expires_at", EXPIRY_FAR, "too_far")
        raise ValidationFailed(EXPIRY_FAR, problems=[problem])
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ShareCounts:
    views: int = 0
    unique_viewers: int = 0
    last_viewed_at: datetime | None = None


def share_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/share/{token}"


def describe(
    share: Share, keys: ShareKeys, public_url: str, counts: ShareCounts, now: datetime
) -> ShareOut:
    status = status_of(share, now)
    token = keys.open(share.id, share.token_sealed) if status == "active" else None
    return ShareOut(
        id=share.id,
        presentation_id=share.presentation_id,
        url=share_url(public_url, token) if token else None,
        token=token,
        token_hint=share.token_hint,
        status=status,
        has_password=share.password_hash is not None,
        expires_at=share.expires_at,
        revoked_at=share.revoked_at,
        created_at=share.created_at,
        created_by=share.created_by_id,
        views=counts.views,
        unique_viewers=counts.unique_viewers,
        last_viewed_at=counts.last_viewed_at,
    )


class ShareService:
    def __init__(self, session: AsyncSession, keys: ShareKeys) -> None:
        self.session = session
        self.keys = keys

    async def live_presentation(self, presentation_id: uuid.UUID) -> Presentation:
        return await live_presentation(self.session, presentation_id)

    async def create(
        self,
        presentation: Presentation,
        created_by: uuid.UUID | None,
        *,
        expires_at: datetime | None,
        password_hash: str | None,
    ) -> tuple[Share, str]:
        """A new link; returns it with its token (the only time the token is in plain text)."""
        token = new_token()
        share_id = new_id()
        share = Share(
            id=share_id,
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            token_hash=hash_token(token),
            token_sealed=self.keys.seal(share_id, token),
            token_hint=token[-HINT_LENGTH:],
            password_hash=password_hash,
            expires_at=expires_at,
            created_by_id=created_by,
        )
        self.session.add(share)
        await self.session.flush()
        return share, token

    async def of_presentation(self, presentation_id: uuid.UUID) -> list[Share]:
        found = await self.session.scalars(
            select(Share)
            .where(Share.presentation_id == presentation_id)
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
        return list(found.all())

    async def counts(self, presentation_id: uuid.UUID) -> dict[uuid.UUID, ShareCounts]:
        """Views, distinct viewers per day (summed) and the last view, per share."""
        views = (
            select(
                ShareView.share_id,
                func.count().label("views"),
                func.max(ShareView.last_seen_at).label("last"),
            )
            .where(ShareView.presentation_id == presentation_id)
            .group_by(ShareView.share_id)
        )
        daily = (
            select(ShareView.share_id, ShareView.day, ShareView.viewer)
            .where(ShareView.presentation_id == presentation_id)
            .distinct()
            .subquery()
        )
        unique = select(daily.c.share_id, func.count()).group_by(daily.c.share_id)
        distinct = {row[0]: int(row[1]) for row in (await self.session.execute(unique)).all()}
        result: dict[uuid.UUID, ShareCounts] = {}
        for share_id, count, last in (await self.session.execute(views)).all():
            result[share_id] = ShareCounts(int(count), distinct.get(share_id, 0), last)
        return result

    async def get(self, presentation_id: uuid.UUID, share_id: uuid.UUID) -> Share:
        share = await self.session.scalar(
            select(Share).where(Share.id == share_id, Share.presentation_id == presentation_id)
        )
        if share is None:
            raise NotFound(SHARE_NOT_FOUND)
        return share

    async def revoke(self, share: Share) -> bool:
        """Revoke the link now; False if it already was."""
        if share.revoked_at is not None:
            return False
        share.revoked_at = utcnow()
        await self.session.flush()
        return True

    async def resolve(self, token: str, headers: dict[str, str]) -> tuple[Share, Presentation]:
        """The live share and presentation behind `token`: 404 (unknown, revoked, deleted
        presentation) or 410 (expired), raised with `headers`."""
        if not looks_like_token(token):
            raise NotFound(SHARE_NOT_FOUND, headers=dict(headers))
        found = (
            await self.session.execute(
                select(Share, Presentation)
                .join(Presentation, Presentation.id == Share.presentation_id)
                .where(Share.token_hash == hash_token(token))
            )
        ).first()
        if found is None:
            raise NotFound(SHARE_NOT_FOUND, headers=dict(headers))
        share, presentation = found
        status = status_of(share, utcnow())
        if status == "revoked" or presentation.deleted_at is not None:
            raise NotFound(SHARE_NOT_FOUND, headers=dict(headers))
        if status == "expired":
            raise Gone(SHARE_EXPIRED, headers=dict(headers))
        return share, presentation

    async def slide_count(self, presentation_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(Slide).where(Slide.presentation_id == presentation_id)
        )
        return int(count or 0)

    async def deck(self, share: Share, presentation: Presentation) -> SharedDeckOut:
        slides = await self.session.scalars(
            select(Slide)
            .where(Slide.presentation_id == presentation.id)
            .order_by(Slide.position, Slide.id)
        )
        shared = [shared_slide(number, slide) for number, slide in enumerate(slides, start=1)]
        language = (presentation.parameters or {}).get("language")
        return SharedDeckOut(
            title=presentation.title,
            language=language if isinstance(language, str) else None,
            slide_count=len(shared),
            expires_at=share.expires_at,
            slides=shared,
        )


def shared_slide(number: int, slide: Slide) -> SharedSlide:
    """A slide as the public sees it. A content document that no longer validates (written by
    an older version) shows its title only rather than failing the whole deck."""
    try:
        content = SlideContent.model_validate(slide.content or {})
    except ValueError:
        content = SlideContent()
    data = (slide.content or {}).get("layout_data") or {}
    table = _valid(SharedTable, data.get("table"))
    chart = _valid(SharedChart, data.get("chart"))
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    return SharedSlide(
        slide_number=number,
        title=slide.title,
        layout=slide.layout,
        bullets=[
            SharedBullet(
                text=bullet.text,
                citation=bullet.attribution.citation if bullet.attribution else None,
                document=bullet.attribution.document if bullet.attribution else None,
            )
            for bullet in content.bullets
        ],
        table=table,
        chart=chart,
        data_source=str(source.get("citation")) if source and source.get("citation") else None,
    )


def _valid(model: type[T], value: object) -> T | None:
    """`value` as `model`, or None when absent or not of that shape."""
    if not isinstance(value, dict):
        return None
    try:
        return model.model_validate(value)
    except ValueError:
        return None
