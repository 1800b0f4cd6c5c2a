"""The layout result: pages of positioned elements, in points from the slide's top-left corner.

This is the single source of truth every emitter draws: the PPTX writer gives each text box the
computed size, font size and spacing (the application wraps the text itself, to the same lines
or fewer), the PDF writer draws the computed lines at the computed positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parmenid.presentai.render.deck import Chart, DeckSlide, Layout
from parmenid.presentai.render.measure import Line

EMU_PER_POINT = 12700

Align = Literal["left", "center", "right"]
Anchor = Literal["top", "middle", "bottom"]
# Which placeholder of the slide layout a text box fills (None: a free text box).
PlaceholderRole = Literal["title", "subtitle", "body", "body2"]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def shrink(
        self, *, top: float = 0, bottom: float = 0, left: float = 0, right: float = 0
    ) -> Rect:
        return Rect(self.x + left, self.y + top, self.w - left - right, self.h - top - bottom)

    def emu(self) -> tuple[int, int, int, int]:
        return (
            round(self.x * EMU_PER_POINT),
            round(self.y * EMU_PER_POINT),
            round(self.w * EMU_PER_POINT),
            round(self.h * EMU_PER_POINT),
        )


@dataclass(frozen=True)
class TextStyle:
    """How a run of text is set. `family` is what the PPTX names (None: the template's theme
    font); `face` is the shipped face that measured it and that the PDF draws with. `color`
    None: the template decides (the PDF uses `fallback_color`)."""

    family: str | None
    face: str
    bold: bool
    color: str | None
    fallback_color: str


@dataclass(frozen=True)
class Run:
    text: str
    style: TextStyle
    superscript: bool = False


@dataclass(frozen=True)
class Paragraph:
    runs: tuple[Run, ...]
    bullet: bool
    lines: tuple[Line, ...]  # as wrapped at the box's font size
    hanging: bool = False  # indented like a bulleted paragraph, without a bullet

    @property
    def indented(self) -> bool:
        return self.bullet or self.hanging


@dataclass(frozen=True)
class TextBox:
    role: str  # title | subtitle | body | footnotes | footer | slide_number | quote_mark | author
    rect: Rect
    paragraphs: tuple[Paragraph, ...]
    size: float  # pt
    line_height: float  # pt, exact
    paragraph_gap: float  # pt before every paragraph but the first
    indent: float  # where the text of bulleted (and hanging) paragraphs starts, pt
    inset: float  # inner margin on all four sides, pt
    align: Align = "left"
    anchor: Anchor = "top"
    placeholder: PlaceholderRole | None = None
    bullet_color: str | None = None

    def text_height(self) -> float:
        lines = sum(len(p.lines) for p in self.paragraphs)
        return lines * self.line_height + self.paragraph_gap * max(0, len(self.paragraphs) - 1)

    @property
    def text(self) -> str:
        return "\n".join("".join(r.text for r in p.runs) for p in self.paragraphs)


@dataclass(frozen=True)
class Fill:
    """A plain rectangle: a band, an accent bar."""

    rect: Rect
    color: str


@dataclass(frozen=True)
class Picture:
    role: Literal["logo", "image"]
    rect: Rect
    data: bytes  # PNG or JPEG


@dataclass(frozen=True)
class Cell:
    text: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class TableBox:
    rect: Rect
    column_widths: tuple[float, ...]
    row_heights: tuple[float, ...]
    cells: tuple[tuple[Cell, ...], ...]  # row 0 is the header
    size: float
    line_height: float
    padding: float
    header: TextStyle
    body: TextStyle
    header_fill: str
    band_fill: str  # every other body row
    fill: str


@dataclass(frozen=True)
class ChartBox:
    rect: Rect
    chart: Chart
    palette: tuple[str, ...]
    font_size: float
    style: TextStyle
    show_title: bool


Element = Fill | Picture | TextBox | TableBox | ChartBox


@dataclass(frozen=True)
class Page:
    """One output slide: a deck slide, or one of its continuation slides."""

    number: int  # 1-based in the output
    slide: DeckSlide
    kind: Layout
    slide_layout: str  # the PPTX slide layout it is built on
    background: str | None  # None: the template's
    elements: tuple[Element, ...]
    notes: str
    continuation: int = 0  # 0 for the slide itself, 1.. for its continuation slides

    def text_boxes(self) -> list[TextBox]:
        return [e for e in self.elements if isinstance(e, TextBox)]


@dataclass(frozen=True)
class PageSize:
    width: float  # pt
    height: float
