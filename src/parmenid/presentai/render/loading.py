"""A presentation's rows and its brand kit, read into the plain `Deck` the renderer draws."""

from __future__ import annotations

import logging
import math
import re
import uuid
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import NotFound, Text
from parmenid.core.storage import ObjectNotFound, ObjectStorage
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.render.deck import (
    BrandStyle,
    Chart,
    ChartSeries,
    Deck,
    DeckBullet,
    DeckSlide,
    Layout,
    Table,
)
from parmenid.presentai.render.geometry import LAYOUTS
from parmenid.presentai.slides.models import Slide

logger = logging.getLogger(__name__)
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_CHART_KINDS: dict[str, Literal["bar", "column", "line", "pie"]] = {
    "bar": "bar",
    "column": "column",
    "line": "line",
    "pie": "pie",
}
MAX_CATEGORIES = 50
MAX_SERIES = 8
NOT_FOUND = Text("Presentation not found.", "Презентация не найдена.")


def _color(value: Any, default: str) -> str:
    return value.upper() if isinstance(value, str) and _COLOR.match(value) else default


def _family(value: Any, default: str) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= 100:
        return " ".join(value.split())
    return default


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _table(data: Any) -> Table | None:
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        return None
    rows = data.get("rows")
    return Table(
        [_text(c) for c in data["columns"]],
        [[_text(c) for c in row] for row in rows or [] if isinstance(row, list)],
    )


def _chart(data: Any) -> Chart | None:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        return None
    kind = _CHART_KINDS.get(str(data.get("kind")), "column")
    series = [
        ChartSeries(
            _text(s.get("name")),
            [_number(v) for v in s.get("values", [])][:MAX_CATEGORIES]
            if isinstance(s.get("values"), list)
            else [],
        )
        for s in (data.get("series") or [])
        if isinstance(s, dict)
    ][:MAX_SERIES]
    return Chart(
        kind=kind,
        categories=[_text(c) for c in data["categories"]][:MAX_CATEGORIES],
        series=series,
        title=_text(data.get("title")),
    )


async def _read(storage: ObjectStorage, key: str | None, what: str) -> bytes | None:
    if not key:
        return None
    try:
        return await storage.get(key)
    except ObjectNotFound:
        logger.warning("brand kit %s %s is missing from storage; rendering without it", what, key)
        return None


async def _brand_kit(session: AsyncSession, presentation: Presentation) -> BrandKit | None:
    """The presentation's brand kit if it names one of its organization's, else the
    organization's default, else none."""
    wanted = (presentation.parameters or {}).get("brand_kit_id")
    if wanted:
        try:
            kit_id = uuid.UUID(str(wanted))
        except ValueError:
            kit_id = None
        if kit_id is not None:
            kit = await session.get(BrandKit, kit_id)
            if kit is not None and kit.organization_id == presentation.organization_id:
                return kit
    return await session.scalar(
        select(BrandKit)
        .where(
            BrandKit.organization_id == presentation.organization_id,
            BrandKit.is_default.is_(True),
        )
        .order_by(BrandKit.created_at)
        .limit(1)
    )


async def brand_style(storage: ObjectStorage, kit: BrandKit | None) -> BrandStyle:
    """The kit as the renderer sees it (bad or missing values fall back to the defaults)."""
    default = BrandStyle()
    if kit is None:
        return default
    colors = kit.colors or {}
    fonts = kit.fonts or {}
    return BrandStyle(
        primary=_color(colors.get("primary"), default.primary),
        secondary=_color(colors.get("secondary"), default.secondary),
        accent=_color(colors.get("accent"), default.accent),
        background=_color(colors.get("background"), default.background),
        text=_color(colors.get("text"), default.text),
        heading_font=_family(fonts.get("heading"), default.heading_font),
        body_font=_family(fonts.get("body"), default.body_font),
        logo=await _read(storage, kit.logo_storage_key, "logo"),
        footer_text=kit.footer_text or None,
        attribution="notes" if kit.attribution == "notes" else "footnotes",
        template=await _read(storage, kit.template_storage_key, "template"),
        default_layouts={
            str(k): str(v) for k, v in (kit.default_layouts or {}).items() if isinstance(v, str)
        },
    )


async def _slide(storage: ObjectStorage, row: Slide) -> DeckSlide:
    content = row.content or {}
    bullets = [
        DeckBullet(
            _text(b.get("text")),
            _text((b.get("attribution") or {}).get("citation")) or None,
        )
        for b in content.get("bullets") or []
        if isinstance(b, dict) and _text(b.get("text")).strip()
    ]
    data = content.get("layout_data") if isinstance(content.get("layout_data"), dict) else {}
    assert isinstance(data, dict)
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    assert isinstance(source, dict)
    image_key = data.get("image_storage_key")
    image = await _read(storage, image_key, "image") if isinstance(image_key, str) else None
    layout: Layout = row.layout if row.layout in LAYOUTS else "bullets"
    return DeckSlide(
        number=row.position,
        title=row.title or "",
        layout=layout,
        bullets=bullets,
        speaker_notes=_text(content.get("speaker_notes")),
        table=_table(data.get("table")),
        chart=_chart(data.get("chart")),
        image=image,
        quote_author=_text(data.get("quote_author")) or None,
        data_source=_text(source.get("citation")) or None,
    )


async def load_deck(
    session: AsyncSession, storage: ObjectStorage, presentation_id: uuid.UUID
) -> Deck:
    """The presentation's slides in order and its brand style, ready to render (in a thread:
    the result holds no database objects)."""
    presentation = await session.get(Presentation, presentation_id)
    if presentation is None or presentation.deleted_at is not None:
        raise NotFound(NOT_FOUND)
    rows = await session.scalars(
        select(Slide).where(Slide.presentation_id == presentation_id).order_by(Slide.position)
    )
    slides = [await _slide(storage, row) for row in rows.all()]
    kit = await _brand_kit(session, presentation)
    parameters = presentation.parameters or {}
    return Deck(
        title=presentation.title,
        slides=slides,
        style=await brand_style(storage, kit),
        language=str(parameters.get("language") or "ru"),
    )
