"""Slides of a presentation: add, edit, delete, reorder, version history and restore.

Rules that are not obvious from the code:
* Positions are always 1..n, without gaps or duplicates. Every write (add, edit, delete, reorder,
  restore) first locks the presentation row, then reads the slides and renumbers them from what
  it read, so concurrent writes to one presentation run one after another and never see each
  other half-done. PostgreSQL: `SELECT ... FOR UPDATE`. SQLite: a no-op `UPDATE` of the row,
  because the driver opens the transaction only at the first write; a plain `SELECT` would read
  before the lock is held. Renumbering from the locked state also heals gaps in older data.
* Content changes only through `write_slide`: one new version per real change (an edit that
  changes nothing writes no version), with who made it and why.
* No writes while the presentation is generating (409), nor to a slide that has a queued or
  running regeneration job (409): the job would overwrite the edit.
* `expected` versions (from `If-Match` or `expected_version`) are compared under the lock; a
  stale one answers 409 with `current_version`.
* A bullet keeps an attribution only if the client sends it back, and only one that is already
  on a slide of this presentation (matched by document and chunk); the stored copy is kept, so a
  client cannot invent a source or its excerpt. A plain-text bullet has none.
* A slide a person wrote is `ready` when it has a title, bullets, notes or layout data, else
  `empty`; a person's write clears a generation error.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import Conflict, FieldProblem, NotFound, Text, ValidationFailed
from parmenid.presentai.authz import not_found_text
from parmenid.presentai.generation.models import GenerationJob, GenerationStatus
from parmenid.presentai.presentations.auth import PRESENTATION, SLIDE
from parmenid.presentai.presentations.live import live_presentation
from parmenid.presentai.presentations.models import GENERATING, Presentation
from parmenid.presentai.presentations.service import refresh_search_text
from parmenid.presentai.slides.models import Slide, SlideLayout, SlideStatus, SlideVersion
from parmenid.presentai.slides.schemas import Bullet, SlideContent
from parmenid.presentai.slides.versions import Author, write_slide

MAX_SLIDES = 100
ACTIVE_JOB = (GenerationStatus.QUEUED.value, GenerationStatus.RUNNING.value)

IS_GENERATING = Text(
    "The presentation is being generated; its slides can be changed when generation finishes.",
    "Презентация генерируется; слайды можно изменить после окончания генерации.",
)
IS_REGENERATING = Text(
    "This slide is being regenerated; change it when regeneration finishes.",
    "Слайд перегенерируется; измените его после окончания перегенерации.",
)
STALE_VERSION = Text(
    "The slide has changed since you loaded it. Reload it and apply your change again.",
    "Слайд изменился после загрузки. Обновите его и внесите изменения заново.",
)
SLIDES_CHANGED = Text(
    "The slides of the presentation changed meanwhile. Reload them and reorder again.",
    "Слайды презентации изменились. Обновите их и измените порядок заново.",
)
CHANGED_MEANWHILE = Text(
    "The slide was changed by someone else at the same time. Reload it and try again.",
    "Слайд одновременно изменил кто-то другой. Обновите его и попробуйте снова.",
)
TOO_MANY = Text(
    f"A presentation holds at most {MAX_SLIDES} slides.",
    f"В презентации может быть не более {MAX_SLIDES} слайдов.",
)
DUPLICATES = Text(
    "Each slide may appear only once in slide_ids.",
    "Каждый слайд может встречаться в slide_ids только один раз.",
)
UNKNOWN_ATTRIBUTION = Text(
    "This attribution is not one of the presentation's: send back an attribution as you "
    "received it, or send the bullet as plain text.",
    "Такой ссылки на источник в презентации нет: верните ссылку в том виде, в каком получили, "
    "или передайте пункт простым текстом.",
)
BAD_CURSOR = Text("The cursor is invalid.", "Некорректный курсор.")


@dataclass(frozen=True)
class SlideEdit:
    """What a person sets; `None` leaves a part as it is."""

    title: str | None = None
    layout: str | None = None
    bullets: list[Bullet] | None = None
    speaker_notes: str | None = None


@dataclass(frozen=True)
class VersionPage:
    items: list[SlideVersion]
    next_cursor: str | None


def order_token(slide_ids: Sequence[uuid.UUID]) -> str:
    """An opaque token of a presentation's slide order; it changes when the order or the set
    of slides changes. Sent back in `If-Match` on reorder to detect a concurrent reorder."""
    digest = hashlib.sha256("\n".join(str(i) for i in slide_ids).encode()).hexdigest()
    return f"o-{digest[:24]}"


def status_for(title: str, content: dict[str, Any]) -> str:
    parsed = SlideContent.model_validate(content)
    written = title.strip() or parsed.bullets or parsed.speaker_notes.strip()
    if written or content.get("layout_data"):
        return SlideStatus.READY.value
    return SlideStatus.EMPTY.value


def _renumber(slides: Sequence[Slide]) -> None:
    for number, slide in enumerate(slides, start=1):
        if slide.position != number:
            slide.position = number


def _attribution_key(attribution: dict[str, Any]) -> tuple[str, str]:
    return str(attribution.get("document_id")), str(attribution.get("chunk_id"))


class SlideService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def presentation(self, presentation_id: uuid.UUID) -> Presentation:
        """A presentation that is not deleted (a deleted one answers 404)."""
        return await live_presentation(self.session, presentation_id)

    async def slides_of(self, presentation_id: uuid.UUID) -> list[Slide]:
        """The presentation's slides in order, read fresh from the database."""
        found = await self.session.scalars(
            select(Slide)
            .where(Slide.presentation_id == presentation_id)
            .order_by(Slide.position, Slide.created_at, Slide.id)
            .execution_options(populate_existing=True)
        )
        return list(found.all())

    async def get(self, slide_id: uuid.UUID) -> Slide:
        slide = await self.session.get(Slide, slide_id)
        if slide is None:
            raise not_found_text(SLIDE)
        return slide

    async def add(
        self,
        presentation_id: uuid.UUID,
        author: Author,
        edit: SlideEdit,
        position: int | None = None,
    ) -> Slide:
        """A new slide at `position` (default: the end); later slides move down one place."""
        presentation = await self._lock(presentation_id)
        slides = await self.slides_of(presentation_id)
        if len(slides) >= MAX_SLIDES:
            raise ValidationFailed(TOO_MANY, extra={"max_slides": MAX_SLIDES})
        last = len(slides) + 1
        at = last if position is None else position
        if at > last:
            text = Text(
                f"position must be between 1 and {last} (the presentation has {len(slides)} "
                "slides).",
                f"position должен быть от 1 до {last} (в презентации {len(slides)} слайдов).",
            )
            raise ValidationFailed(
                text, problems=[FieldProblem("position", text)], extra={"max_position": last}
            )
        content: dict[str, Any] = {"bullets": [], "speaker_notes": edit.speaker_notes or ""}
        if edit.bullets:
            content["bullets"] = self._bullets(edit.bullets, slides)
        title = edit.title or ""
        slide = Slide(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            position=at,
            title=title,
            layout=edit.layout or SlideLayout.BULLETS.value,
            content=content,
            status=status_for(title, content),
        )
        write_slide(self.session, slide, author=author, reason="created")
        self.session.add(slide)
        slides.insert(at - 1, slide)
        _renumber(slides)
        await self._flush()
        await self._touch(presentation)
        return slide

    async def update(
        self,
        slide_id: uuid.UUID,
        author: Author,
        edit: SlideEdit,
        expected: Collection[int] | None = None,
    ) -> tuple[Slide, dict[str, Any]]:
        """Apply a person's edit as one new version; returns the slide and what changed (empty
        when nothing did, and then no version is written)."""
        slide, presentation = await self._writable(slide_id, expected)
        title = edit.title if edit.title is not None and edit.title != slide.title else None
        layout = edit.layout if edit.layout is not None and edit.layout != slide.layout else None
        current = dict(slide.content or {})
        content = dict(current)
        parsed = SlideContent.model_validate(current)
        changed: list[str] = []
        if edit.bullets is not None:
            siblings = await self.slides_of(presentation.id) if edit.bullets else []
            bullets = self._bullets(edit.bullets, siblings)
            if SlideContent.model_validate({"bullets": bullets}).bullets != parsed.bullets:
                content["bullets"] = bullets
                changed.append("bullets")
        if edit.speaker_notes is not None and edit.speaker_notes != parsed.speaker_notes:
            content["speaker_notes"] = edit.speaker_notes
            changed.append("speaker_notes")
        if title is None and layout is None and not changed:
            return slide, {}
        before = slide.version
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = {"from": slide.title, "to": title}
        if layout is not None:
            changes["layout"] = {"from": slide.layout, "to": layout}
        write_slide(
            self.session,
            slide,
            author=author,
            reason="edited",
            title=title,
            layout=layout,
            content=content if changed else None,
        )
        self._settle(slide)
        await self._flush()
        await self._touch(presentation)
        changes["content"] = changed
        changes["version"] = {"from": before, "to": slide.version}
        return slide, changes

    async def delete(self, slide_id: uuid.UUID, expected: Collection[int] | None = None) -> Slide:
        """Delete a slide with its versions; later slides move up one place."""
        slide, presentation = await self._writable(slide_id, expected)
        remaining = [s for s in await self.slides_of(presentation.id) if s.id != slide.id]
        await self.session.delete(slide)
        _renumber(remaining)
        await self._flush()
        await self._touch(presentation)
        return slide

    async def reorder(
        self,
        presentation_id: uuid.UUID,
        slide_ids: Sequence[uuid.UUID],
        expected_order: Collection[str] | None = None,
    ) -> tuple[list[Slide], list[uuid.UUID]]:
        """Put the slides in the order of `slide_ids`, which must be exactly the presentation's
        current slides; returns the slides in their new order and the order before."""
        if len(set(slide_ids)) != len(slide_ids):
            raise ValidationFailed(DUPLICATES, problems=[FieldProblem("slide_ids", DUPLICATES)])
        presentation = await self._lock(presentation_id)
        slides = await self.slides_of(presentation_id)
        before = [slide.id for slide in slides]
        stale_token = expected_order is not None and order_token(before) not in expected_order
        if stale_token or set(slide_ids) != set(before):
            current = set(before)
            raise Conflict(
                SLIDES_CHANGED,
                extra={
                    "current_order": [str(i) for i in before],
                    "order_token": order_token(before),
                    "missing": [str(i) for i in before if i not in set(slide_ids)],
                    "unknown": [str(i) for i in slide_ids if i not in current],
                },
            )
        by_id = {slide.id: slide for slide in slides}
        ordered = [by_id[slide_id] for slide_id in slide_ids]
        _renumber(ordered)
        await self._flush()
        await self._touch(presentation)
        return ordered, before

    async def versions(self, slide_id: uuid.UUID, cursor: str | None, limit: int) -> VersionPage:
        """Newest first; the cursor is the last version number seen (opaque to clients)."""
        query = (
            select(SlideVersion)
            .where(SlideVersion.slide_id == slide_id)
            .order_by(SlideVersion.version.desc())
        )
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 9:
                raise ValidationFailed(BAD_CURSOR, problems=[FieldProblem("cursor", BAD_CURSOR)])
            query = query.where(SlideVersion.version < int(cursor))
        rows = list((await self.session.scalars(query.limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return VersionPage(rows, str(rows[-1].version) if more and rows else None)

    async def restore(
        self,
        slide_id: uuid.UUID,
        version: int,
        author: Author,
        expected: Collection[int] | None = None,
    ) -> Slide:
        """Version `version`'s title, layout and content become a new version ("restored")."""
        slide, presentation = await self._writable(slide_id, expected)
        old = await self.session.scalar(
            select(SlideVersion).where(
                SlideVersion.slide_id == slide.id, SlideVersion.version == version
            )
        )
        if old is None:
            raise NotFound(
                Text(f"Version {version} of this slide not found", f"Версия {version} не найдена"),
                extra={"current_version": slide.version},
            )
        write_slide(
            self.session,
            slide,
            author=author,
            reason="restored",
            title=old.title,
            layout=old.layout,
            content=dict(old.content or {}),
            note=f"from v{version}",
        )
        self._settle(slide)
        await self._flush()
        await self._touch(presentation)
        return slide

    async def _lock(self, presentation_id: uuid.UUID) -> Presentation:
        """Lock the presentation row for the rest of the transaction; 404 when it is deleted,
        409 while it is generating."""
        live = (Presentation.id == presentation_id) & Presentation.deleted_at.is_(None)
        query = select(Presentation).where(live).execution_options(populate_existing=True)
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(
                update(Presentation)
                .where(live)
                .values(updated_at=Presentation.updated_at)
                .execution_options(synchronize_session=False)
            )
        else:
            query = query.with_for_update()
        presentation = await self.session.scalar(query)
        if presentation is None:
            raise not_found_text(PRESENTATION)
        if presentation.status in GENERATING:
            raise Conflict(IS_GENERATING, extra={"presentation_status": presentation.status})
        return presentation

    async def _writable(
        self, slide_id: uuid.UUID, expected: Collection[int] | None
    ) -> tuple[Slide, Presentation]:
        """The slide, read under its presentation's lock, once the rules allow writing it."""
        presentation_id = await self.session.scalar(
            select(Slide.presentation_id).where(Slide.id == slide_id)
        )
        if presentation_id is None:
            raise not_found_text(SLIDE)
        presentation = await self._lock(presentation_id)
        slide = await self.session.scalar(
            select(Slide).where(Slide.id == slide_id).execution_options(populate_existing=True)
        )
        if slide is None:  # deleted while we waited for the lock
            raise not_found_text(SLIDE)
        busy = await self.session.scalar(
            select(GenerationJob.id)
            .where(
                GenerationJob.presentation_id == presentation.id,
                GenerationJob.slide_id == slide.id,
                GenerationJob.status.in_(ACTIVE_JOB),
            )
            .limit(1)
        )
        if busy is not None:
            raise Conflict(IS_REGENERATING, extra={"job_id": str(busy)})
        if expected is not None and slide.version not in expected:
            raise Conflict(STALE_VERSION, extra={"current_version": slide.version})
        return slide, presentation

    def _bullets(self, sent: Sequence[Bullet], slides: Sequence[Slide]) -> list[dict[str, Any]]:
        """Bullets as stored: an attribution only if it is one the presentation already has."""
        known: dict[tuple[str, str], dict[str, Any]] = {}
        if any(bullet.attribution is not None for bullet in sent):
            for slide in slides:
                for stored in (slide.content or {}).get("bullets") or []:
                    attribution = stored.get("attribution") if isinstance(stored, dict) else None
                    if isinstance(attribution, dict):
                        known[_attribution_key(attribution)] = attribution
        bullets: list[dict[str, Any]] = []
        problems: list[FieldProblem] = []
        for number, bullet in enumerate(sent):
            attribution = None
            if bullet.attribution is not None:
                key = (str(bullet.attribution.document_id), bullet.attribution.chunk_id)
                attribution = known.get(key)
                if attribution is None:
                    where = f"bullets.{number}.attribution"
                    problems.append(FieldProblem(where, UNKNOWN_ATTRIBUTION))
            bullets.append({"text": bullet.text, "attribution": attribution})
        if problems:
            raise ValidationFailed(UNKNOWN_ATTRIBUTION, problems=problems)
        return bullets

    def _settle(self, slide: Slide) -> None:
        slide.status = status_for(slide.title, slide.content or {})
        slide.error_code = None
        slide.error_message = None

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a writer that does not take the lock (a job) got there
            raise Conflict(CHANGED_MEANWHILE) from exc

    async def _touch(self, presentation: Presentation) -> None:
        presentation.updated_at = utcnow()
        await refresh_search_text(self.session, presentation)
        await self.session.flush()
