"""Where things go on a slide of each layout: our own 16:9 design, or a PPTX template's slide
layouts (their placeholders give the title and content areas)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pptx.enum.shapes import PP_PLACEHOLDER

from parmenid.presentai.render.boxes import EMU_PER_POINT, PageSize, Rect
from parmenid.presentai.render.deck import Layout

LAYOUTS: tuple[Layout, ...] = get_args(Layout)
WIDTH, HEIGHT = 960.0, 540.0  # 13.333 × 7.5 in
MARGIN = 48.0


@dataclass(frozen=True)
class Frames:
    """The areas of one layout. `body` lists the content areas in reading order (two for two
    columns; for image with text the first holds the image)."""

    slide_layout: str
    title: Rect
    body: tuple[Rect, ...]
    footer: Rect
    number: Rect


@dataclass(frozen=True)
class Geometry:
    size: PageSize
    templated: bool
    frames: Mapping[Layout, Frames]
    logo: Rect  # the box a logo is fitted into (top right)


# The python-pptx default template's layout names (made 16:9 by the PPTX writer).
_DEFAULT_SLIDE_LAYOUTS: dict[Layout, str] = {
    "title": "Title Slide",
    "section": "Section Header",
    "closing": "Section Header",
    "bullets": "Title and Content",
    "quote": "Title and Content",
    "two_columns": "Two Content",
    "image_text": "Two Content",
    "table": "Title Only",
    "chart": "Title Only",
}


def default_geometry() -> Geometry:
    footer = Rect(MARGIN, 506, 640, 24)
    number = Rect(WIDTH - MARGIN - 96, 506, 96, 24)
    title = Rect(MARGIN, 24, WIDTH - 2 * MARGIN, 86)
    body = Rect(MARGIN, 134, WIDTH - 2 * MARGIN, 362)
    gap = 24.0
    half = (body.w - gap) / 2
    columns = (Rect(body.x, body.y, half, body.h), Rect(body.x + half + gap, body.y, half, body.h))
    image = Rect(body.x, body.y, 400, body.h)
    beside = Rect(image.right + gap, body.y, body.right - image.right - gap, body.h)
    cover_title = Rect(64, 80, WIDTH - 128, 220)
    cover_subtitle = Rect(64, 348, WIDTH - 128, 140)
    section_title = Rect(64, 130, WIDTH - 128, 190)
    section_subtitle = Rect(64, 350, WIDTH - 128, 130)
    areas: dict[Layout, tuple[Rect, tuple[Rect, ...]]] = {
        "title": (cover_title, (cover_subtitle,)),
        "section": (section_title, (section_subtitle,)),
        "closing": (section_title, (section_subtitle,)),
        "bullets": (title, (body,)),
        "quote": (title, (body,)),
        "two_columns": (title, columns),
        "image_text": (title, (image, beside)),
        "table": (title, (body,)),
        "chart": (title, (body,)),
    }
    frames = {
        kind: Frames(_DEFAULT_SLIDE_LAYOUTS[kind], t, b, footer, number)
        for kind, (t, b) in areas.items()
    }
    return Geometry(PageSize(WIDTH, HEIGHT), False, frames, Rect(WIDTH - MARGIN - 140, 22, 140, 56))


# Template layouts, by the type PowerPoint records (survives renaming), then by usual names.
_TYPES: dict[Layout, tuple[str, ...]] = {
    "title": ("title",),
    "section": ("secHead",),
    "closing": ("secHead", "title"),
    "bullets": ("obj", "tx"),
    "quote": ("obj", "tx"),
    "two_columns": ("twoObj", "twoTxTwoObj"),
    "image_text": ("twoObj", "picTx", "objTx"),
    "table": ("titleOnly", "obj", "tx"),
    "chart": ("titleOnly", "obj", "tx"),
}
_NAMES: dict[Layout, tuple[str, ...]] = {
    "title": ("title slide", "титульный слайд"),
    "section": ("section header", "заголовок раздела"),
    "closing": ("section header", "title slide", "заголовок раздела"),
    "bullets": ("title and content", "заголовок и объект"),
    "quote": ("title and content", "заголовок и объект"),
    "two_columns": ("two content", "два объекта"),
    "image_text": ("two content", "picture with caption", "два объекта"),
    "table": ("title only", "только заголовок"),
    "chart": ("title only", "только заголовок"),
}
# Brand-kit `default_layouts` keys that stand for several of our layouts.
_ROLES: dict[Layout, tuple[str, ...]] = {
    "title": ("title", "cover"),
    "section": ("section",),
    "closing": ("closing", "section"),
    "bullets": ("bullets", "content"),
    "quote": ("quote", "content"),
    "two_columns": ("two_columns", "content"),
    "image_text": ("image_text", "content"),
    "table": ("table", "content"),
    "chart": ("chart", "content"),
}
_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
_CONTENT = {
    PP_PLACEHOLDER.BODY,
    PP_PLACEHOLDER.OBJECT,
    PP_PLACEHOLDER.SUBTITLE,
    PP_PLACEHOLDER.PICTURE,
    PP_PLACEHOLDER.TABLE,
    PP_PLACEHOLDER.CHART,
}


def _rect(shape: Any) -> Rect | None:
    try:
        x, y, w, h = shape.left, shape.top, shape.width, shape.height
    except (AttributeError, ValueError):
        return None
    if None in (x, y, w, h) or not w or not h:
        return None
    return Rect(x / EMU_PER_POINT, y / EMU_PER_POINT, w / EMU_PER_POINT, h / EMU_PER_POINT)


def choose_layout(slide_layouts: Any, kind: Layout, preferred: Mapping[str, str]) -> Any:
    """The template layout for `kind`: the brand kit's choice by name, else by layout type,
    else by the usual names, else the first with a title and a content placeholder."""
    layouts = list(slide_layouts)
    by_name = {" ".join(str(lay.name).split()).casefold(): lay for lay in layouts}
    for role in _ROLES[kind]:
        wanted = preferred.get(role)
        if isinstance(wanted, str) and wanted.strip().casefold() in by_name:
            return by_name[wanted.strip().casefold()]
    for wanted_type in _TYPES[kind]:
        for lay in layouts:
            if lay._element.get("type") == wanted_type:
                return lay
    for name in _NAMES[kind]:
        if name in by_name:
            return by_name[name]
    for lay in layouts:
        types = {ph.placeholder_format.type for ph in lay.placeholders}
        if types & _TITLES and types & _CONTENT:
            return lay
    return layouts[0]


def template_geometry(prs: Any, preferred: Mapping[str, str]) -> Geometry:
    """Frames read from the template's placeholders (positions inherited from the master when
    a layout does not set them); what a layout lacks comes from the slide's proportions."""
    width = prs.slide_width / EMU_PER_POINT
    height = prs.slide_height / EMU_PER_POINT
    margin = width * MARGIN / WIDTH
    frames: dict[Layout, Frames] = {}
    for kind in LAYOUTS:
        lay = choose_layout(prs.slide_layouts, kind, preferred)
        title: Rect | None = None
        bodies: list[Rect] = []
        footer: Rect | None = None
        number: Rect | None = None
        for ph in lay.placeholders:
            kind_of = ph.placeholder_format.type
            rect = _rect(ph)
            if rect is None:
                continue
            if kind_of in _TITLES and title is None:
                title = rect
            elif kind_of in _CONTENT:
                bodies.append(rect)
            elif kind_of == PP_PLACEHOLDER.FOOTER:
                footer = rect
            elif kind_of == PP_PLACEHOLDER.SLIDE_NUMBER:
                number = rect
        if title is None:
            title = Rect(margin, height * 0.05, width - 2 * margin, height * 0.16)
        bottom = height * 0.92
        if footer is None:
            footer = Rect(margin, bottom, width * 0.6, height * 0.05)
        if number is None:
            number = Rect(width - margin - width * 0.1, bottom, width * 0.1, height * 0.05)
        bodies.sort(key=lambda r: (round(r.x / 10), r.y))
        if kind in ("table", "chart", "bullets", "quote") or not bodies:
            if not bodies or kind in ("table", "chart"):
                top = title.bottom + height * 0.03
                bodies = [Rect(title.x, top, title.w, max(height * 0.2, bottom - top))]
            bodies = bodies[:1]
        if kind in ("two_columns", "image_text") and len(bodies) < 2:
            whole = bodies[0]
            gap = width * 0.025
            half = (whole.w - gap) / 2
            bodies = [
                Rect(whole.x, whole.y, half, whole.h),
                Rect(whole.x + half + gap, whole.y, half, whole.h),
            ]
        frames[kind] = Frames(str(lay.name), title, tuple(bodies[:2]), footer, number)
    logo_w, logo_h = width * 140 / WIDTH, height * 56 / HEIGHT
    logo = Rect(width - margin - logo_w, height * 22 / HEIGHT, logo_w, logo_h)
    return Geometry(PageSize(width, height), True, frames, logo)
