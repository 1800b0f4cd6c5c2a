"""A deck as Google Slides API `batchUpdate` requests (pure: no I/O).

Each deck slide becomes a slide on one of Google's predefined layouts, its placeholders given
our own object ids (`placeholderIdMappings`), so that text, bullets and styles can follow in
the same batch:

| deck layout | Google layout | content |
|---|---|---|
| title, closing | TITLE | title; subtitle (the deck's subtitle on slide 1, else the bullets) |
| section | SECTION_HEADER, or SECTION_TITLE_AND_DESCRIPTION with bullets | title; text |
| bullets, image_text | TITLE_AND_BODY (TITLE_ONLY without bullets) | title; bulleted body |
| two_columns | TITLE_AND_TWO_COLUMNS | bullets split in two bulleted columns |
| quote | TITLE_AND_BODY | the quote in italics, then "— author" |
| table | TITLE_ONLY + a table | header row bold on the brand colour |
| chart | TITLE_ONLY + a table of the chart's data | categories × series |

Not exported: images (`createImage` needs a URL Google can fetch; the image of `image_text` is
left out) and real charts (Slides charts are linked Google Sheets charts; the chart's data is
shown as a table instead).

Source attribution follows the brand kit: `footnotes` puts superscript markers `[n]` after the
bullets and a small text box listing the sources at the bottom of the slide; `notes` lists them
in the speaker notes. Speaker notes go in a second step: their shapes' ids are known only after
the slides exist (see `notes_requests`).

Text indexes in the Slides API count UTF-16 code units; `_u16` does the counting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parmenid.presentai.render.deck import BrandStyle, Deck, DeckBullet, DeckSlide, Table

Request = dict[str, Any]

MAX_REQUESTS_PER_BATCH = 400
BULLET_PRESET = "BULLET_DISC_CIRCLE_SQUARE"
MARGIN = 36.0  # points
TITLE_BOTTOM = 100.0  # where content below a TITLE_ONLY title starts
FOOTNOTE_SIZE = 9.0
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Page:
    """The slide size in points (Google's default 16:9 is 720 × 405)."""

    width: float = 720.0
    height: float = 405.0


@dataclass
class DeckPlan:
    slide_ids: list[str]
    batches: list[list[Request]]
    notes: dict[str, str] = field(default_factory=dict)  # slide object id -> speaker notes


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clean(text: str, *, one_line: bool = False) -> str:
    """Text as the Slides API takes it: no control characters (a newline starts a paragraph,
    so one-line text has its line breaks folded into spaces)."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if one_line:
        text = " ".join(text.split())
    return text.strip()


def rgb(color: str) -> dict[str, float] | None:
    match = _HEX.fullmatch(color.strip())
    if match is None:
        return None
    value = match.group(1)
    return {
        name: round(int(value[i : i + 2], 16) / 255, 4)
        for name, i in (("red", 0), ("green", 2), ("blue", 4))
    }


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _pt(value: float) -> dict[str, Any]:
    return {"magnitude": round(value, 2), "unit": "PT"}


def _box(page_id: str, x: float, y: float, width: float, height: float) -> dict[str, Any]:
    return {
        "pageObjectId": page_id,
        "size": {"width": _pt(width), "height": _pt(height)},
        "transform": {
            "scaleX": 1,
            "scaleY": 1,
            "translateX": round(x, 2),
            "translateY": round(y, 2),
            "unit": "PT",
        },
    }


@dataclass
class _Content:
    """What one slide shows, decided before any request is written."""

    layout: str
    title: str
    subtitle: str = ""
    body: list[str] = field(default_factory=list)
    body2: list[str] = field(default_factory=list)
    bulleted: bool = True
    italic: bool = False
    emphasis: bool = False  # title, section, closing: brand colour background
    table: Table | None = None
    intro: list[str] = field(default_factory=list)  # bullets above a table


class _SlideWriter:
    def __init__(self, deck: Deck, page: Page) -> None:
        self.deck = deck
        self.style: BrandStyle = deck.style
        self.page = page
        self.footnotes = deck.style.attribution == "footnotes"

    def write(self, slide: DeckSlide, index: int) -> tuple[str, list[Request], str]:
        """The slide's object id, its requests, and its speaker notes."""
        slide_id = f"pm{index + 1:03d}"
        refs = _references(slide.bullets)
        content = self._content(slide, index, refs)
        ids = {
            "title": f"{slide_id}_t",
            "subtitle": f"{slide_id}_s",
            "body": f"{slide_id}_b",
            "body2": f"{slide_id}_b2",
        }
        placeholders = LAYOUTS[content.layout]
        mappings = [
            {"layoutPlaceholder": {"type": kind, "index": number}, "objectId": ids[role]}
            for role, (kind, number) in placeholders.items()
        ]
        requests: list[Request] = [
            {
                "createSlide": {
                    "objectId": slide_id,
                    "insertionIndex": index,
                    "slideLayoutReference": {"predefinedLayout": content.layout},
                    "placeholderIdMappings": mappings,
                }
            }
        ]
        background = rgb(self.style.primary if content.emphasis else self.style.background)
        if background is not None:
            requests.append(
                {
                    "updatePageProperties": {
                        "objectId": slide_id,
                        "pageProperties": {
                            "pageBackgroundFill": {"solidFill": {"color": {"rgbColor": background}}}
                        },
                        "fields": "pageBackgroundFill.solidFill.color",
                    }
                }
            )
        on_colour = self.style.background if content.emphasis else None
        heading = on_colour or self.style.primary
        body_colour = on_colour or self.style.text
        if content.title and "title" in placeholders:
            requests += self._text(ids["title"], content.title, heading, self.style.heading_font)
        if content.subtitle and "subtitle" in placeholders:
            requests += self._text(
                ids["subtitle"], content.subtitle, body_colour, self.style.body_font
            )
        for role, lines in (("body", content.body), ("body2", content.body2)):
            if lines and role in placeholders:
                requests += self._paragraphs(
                    ids[role], lines, body_colour, bulleted=content.bulleted, italic=content.italic
                )
        top = TITLE_BOTTOM
        if content.intro:
            intro_id = f"{slide_id}_i"
            height = min(22.0 * len(content.intro) + 10, 90.0)
            requests.append(self._text_box(intro_id, slide_id, MARGIN, top, height))
            requests += self._paragraphs(intro_id, content.intro, body_colour, bulleted=True)
            top += height + 8
        if content.table is not None:
            requests += self._table(
                f"{slide_id}_tb", slide_id, content.table, top, bool(refs) and self.footnotes
            )
        if refs and self.footnotes:
            requests += self._footnotes(f"{slide_id}_f", slide_id, refs, body_colour)
        notes = clean(slide.speaker_notes)
        if refs and not self.footnotes:
            sources = "\n".join(f"[{n}] {ref}" for n, ref in enumerate(refs, 1))
            notes = f"{notes}\n\nSources:\n{sources}".strip()
        return slide_id, requests, notes

    def _content(self, slide: DeckSlide, index: int, refs: list[str]) -> _Content:
        title = clean(slide.title, one_line=True)
        lines = [self._bullet(bullet, refs) for bullet in slide.bullets]
        lines = [line for line in lines if line]
        layout = slide.layout
        if layout in ("table", "chart"):
            table = slide.table if layout == "table" else None
            if layout == "chart" and slide.chart is not None:
                chart = slide.chart
                columns = [clean(chart.title, one_line=True), *(s.name for s in chart.series)]
                rows = [
                    [
                        category,
                        *(_number(s.values[i]) if i < len(s.values) else "" for s in chart.series),
                    ]
                    for i, category in enumerate(chart.categories)
                ]
                table = Table(columns=columns, rows=rows)
            if table is not None and table.columns:
                return _Content("TITLE_ONLY", title, table=table, intro=lines)
            layout = "bullets"
        if layout in ("title", "closing"):
            subtitle = "\n".join(lines)
            if not subtitle and index == 0 and self.deck.subtitle:
                subtitle = clean(self.deck.subtitle)
            return _Content("TITLE", title, subtitle=subtitle, emphasis=True)
        if layout == "section":
            if lines:
                return _Content(
                    "SECTION_TITLE_AND_DESCRIPTION",
                    title,
                    body=lines,
                    bulleted=False,
                    emphasis=True,
                )
            return _Content("SECTION_HEADER", title, emphasis=True)
        if layout == "quote" and lines:
            quote = "“" + " ".join(lines) + "”"
            author = clean(slide.quote_author or "", one_line=True)
            body = [quote, f"— {author}"] if author else [quote]
            return _Content("TITLE_AND_BODY", title, body=body, bulleted=False, italic=True)
        if layout == "two_columns" and len(lines) >= 2:
            half = (len(lines) + 1) // 2
            return _Content("TITLE_AND_TWO_COLUMNS", title, body=lines[:half], body2=lines[half:])
        if lines:
            return _Content("TITLE_AND_BODY", title, body=lines)
        return _Content("TITLE_ONLY", title)

    def _bullet(self, bullet: DeckBullet, refs: list[str]) -> str:
        text = clean(bullet.text, one_line=True)
        citation = clean(bullet.citation or "", one_line=True)
        if text and citation and self.footnotes:
            text += f" [{refs.index(citation) + 1}]"
        return text

    def _style(
        self, colour: str | None, font: str, *, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        style: dict[str, Any] = dict(extra or {})
        found = rgb(colour) if colour else None
        if found is not None:
            style["foregroundColor"] = {"opaqueColor": {"rgbColor": found}}
        if font.strip():
            style["fontFamily"] = font.strip()
        return style

    def _style_request(
        self, object_id: str, style: dict[str, Any], text_range: dict[str, Any], **where: Any
    ) -> list[Request]:
        if not style:
            return []
        return [
            {
                "updateTextStyle": {
                    "objectId": object_id,
                    **where,
                    "style": style,
                    "textRange": text_range,
                    "fields": ",".join(style),
                }
            }
        ]

    def _text(self, object_id: str, text: str, colour: str, font: str) -> list[Request]:
        return [
            {"insertText": {"objectId": object_id, "insertionIndex": 0, "text": text}},
            *self._style_request(object_id, self._style(colour, font), {"type": "ALL"}),
        ]

    def _paragraphs(
        self,
        object_id: str,
        lines: list[str],
        colour: str,
        *,
        bulleted: bool,
        italic: bool = False,
    ) -> list[Request]:
        text = "\n".join(lines)
        requests: list[Request] = [
            {"insertText": {"objectId": object_id, "insertionIndex": 0, "text": text}}
        ]
        if bulleted:
            requests.append(
                {
                    "createParagraphBullets": {
                        "objectId": object_id,
                        "textRange": {"type": "ALL"},
                        "bulletPreset": BULLET_PRESET,
                    }
                }
            )
        style = self._style(
            colour, self.style.body_font, extra={"italic": True} if italic else None
        )
        requests += self._style_request(object_id, style, {"type": "ALL"})
        offset = 0
        for line in lines:
            marker = re.search(r" (\[\d+\])$", line) if self.footnotes else None
            if marker is not None:
                start = offset + _u16(line[: marker.start(1)])
                requests += self._style_request(
                    object_id,
                    {"baselineOffset": "SUPERSCRIPT"},
                    {
                        "type": "FIXED_RANGE",
                        "startIndex": start,
                        "endIndex": start + _u16(marker.group(1)),
                    },
                )
            offset += _u16(line) + 1
        return requests

    def _text_box(self, object_id: str, page_id: str, x: float, y: float, height: float) -> Request:
        return {
            "createShape": {
                "objectId": object_id,
                "shapeType": "TEXT_BOX",
                "elementProperties": _box(page_id, x, y, self.page.width - x - MARGIN, height),
            }
        }

    def _table(
        self, object_id: str, page_id: str, table: Table, top: float, leave_footer: bool
    ) -> list[Request]:
        columns = [clean(c, one_line=True) for c in table.columns]
        width = len(columns)
        rows = [columns] + [
            [clean(str(cell)) for cell in row[:width]] + [""] * (width - len(row[:width]))
            for row in table.rows
        ]
        bottom = self.page.height - (MARGIN + 24 if leave_footer else MARGIN)
        row_height = max(min((bottom - top) / len(rows), 30.0), 12.0)
        requests: list[Request] = [
            {
                "createTable": {
                    "objectId": object_id,
                    "elementProperties": _box(
                        page_id, MARGIN, top, self.page.width - 2 * MARGIN, row_height * len(rows)
                    ),
                    "rows": len(rows),
                    "columns": width,
                }
            }
        ]
        fill = rgb(self.style.primary)
        if fill is not None:
            requests.append(
                {
                    "updateTableCellProperties": {
                        "objectId": object_id,
                        "tableRange": {
                            "location": {"rowIndex": 0, "columnIndex": 0},
                            "rowSpan": 1,
                            "columnSpan": width,
                        },
                        "tableCellProperties": {
                            "tableCellBackgroundFill": {"solidFill": {"color": {"rgbColor": fill}}}
                        },
                        "fields": "tableCellBackgroundFill.solidFill.color",
                    }
                }
            )
        size = 12.0 if len(rows) <= 8 else 10.0
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                if not text:
                    continue
                cell = {"cellLocation": {"rowIndex": r, "columnIndex": c}}
                requests.append(
                    {
                        "insertText": {
                            "objectId": object_id,
                            **cell,
                            "insertionIndex": 0,
                            "text": text,
                        }
                    }
                )
                if r == 0:
                    style = self._style(
                        self.style.background, self.style.heading_font, extra={"bold": True}
                    )
                else:
                    style = self._style(self.style.text, self.style.body_font)
                style["fontSize"] = _pt(size)
                requests += self._style_request(object_id, style, {"type": "ALL"}, **cell)
        return requests

    def _footnotes(
        self, object_id: str, page_id: str, refs: list[str], colour: str
    ) -> list[Request]:
        lines = [f"[{n}] {ref}" for n, ref in enumerate(refs, 1)]
        height = min(FOOTNOTE_SIZE * 1.4 * len(lines) + 6, 60.0)
        y = self.page.height - height - 8
        style = self._style(colour, self.style.body_font)
        style["fontSize"] = _pt(FOOTNOTE_SIZE)
        return [
            self._text_box(object_id, page_id, MARGIN, y, height),
            {"insertText": {"objectId": object_id, "insertionIndex": 0, "text": "\n".join(lines)}},
            *self._style_request(object_id, style, {"type": "ALL"}),
        ]


# The placeholders of Google's predefined layouts that we fill, by role.
LAYOUTS: dict[str, dict[str, tuple[str, int]]] = {
    "TITLE": {"title": ("CENTERED_TITLE", 0), "subtitle": ("SUBTITLE", 0)},
    "SECTION_HEADER": {"title": ("TITLE", 0)},
    "SECTION_TITLE_AND_DESCRIPTION": {"title": ("TITLE", 0), "body": ("BODY", 0)},
    "TITLE_AND_BODY": {"title": ("TITLE", 0), "body": ("BODY", 0)},
    "TITLE_AND_TWO_COLUMNS": {"title": ("TITLE", 0), "body": ("BODY", 0), "body2": ("BODY", 1)},
    "TITLE_ONLY": {"title": ("TITLE", 0)},
}


def _references(bullets: list[DeckBullet]) -> list[str]:
    refs: list[str] = []
    for bullet in bullets:
        citation = clean(bullet.citation or "", one_line=True)
        if citation and clean(bullet.text) and citation not in refs:
            refs.append(citation)
    return refs


def plan_deck(deck: Deck, *, remove: list[str], page: Page | None = None) -> DeckPlan:
    """The requests that turn a new presentation (whose slides `remove` are deleted) into
    `deck`, in batches of whole slides."""
    writer = _SlideWriter(deck, page or Page())
    slides = deck.slides or [DeckSlide(number=1, title=deck.title, layout="title")]
    plan = DeckPlan(slide_ids=[], batches=[[{"deleteObject": {"objectId": i}} for i in remove]])
    for index, slide in enumerate(slides):
        slide_id, requests, notes = writer.write(slide, index)
        plan.slide_ids.append(slide_id)
        if notes:
            plan.notes[slide_id] = notes
        if plan.batches[-1] and len(plan.batches[-1]) + len(requests) > MAX_REQUESTS_PER_BATCH:
            plan.batches.append([])
        plan.batches[-1].extend(requests)
    return plan


def notes_requests(notes: dict[str, str], speaker_notes_ids: dict[str, str]) -> list[Request]:
    """Speaker notes into each slide's notes shape (`speakerNotesObjectId` of its notes page;
    Google creates the shape on this first text operation if it does not exist yet)."""
    return [
        {"insertText": {"objectId": speaker_notes_ids[slide_id], "insertionIndex": 0, "text": text}}
        for slide_id, text in notes.items()
        if slide_id in speaker_notes_ids
    ]
