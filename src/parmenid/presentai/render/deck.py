"""The deck as every output sees it: one slide model, fed to one layout computation, whose
result every emitter (PPTX, PDF, PNG, Google Slides) draws.

`Deck` is plain data, built from a presentation's rows and its brand kit by `load_deck`
(`parmenid.presentai.render.loading`), so that rendering needs no database and can run in a
worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Layout = Literal[
    "title",
    "section",
    "bullets",
    "two_columns",
    "quote",
    "image_text",
    "table",
    "chart",
    "closing",
]
Attribution = Literal["footnotes", "notes"]


@dataclass(frozen=True)
class DeckBullet:
    text: str
    citation: str | None = None  # e.g. "report.pdf, p. 3"; None for a person's own bullet


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: list[float]


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "column", "line", "pie"]
    categories: list[str]
    series: list[ChartSeries]
    title: str = ""


@dataclass(frozen=True)
class DeckSlide:
    number: int  # 1-based position in the presentation
    title: str
    layout: Layout
    bullets: list[DeckBullet] = field(default_factory=list)
    speaker_notes: str = ""
    table: Table | None = None
    chart: Chart | None = None
    image: bytes | None = None  # PNG or JPEG, for `image_text`
    quote_author: str | None = None
    data_source: str | None = None  # the citation of the table's or chart's data


@dataclass(frozen=True)
class BrandStyle:
    """Colors are "#RRGGBB". Fonts are family names; text is measured with the shipped font
    files that match them (see `parmenid.presentai.render.fonts`)."""

    primary: str = "#1F3A93"
    secondary: str = "#3B82F6"
    accent: str = "#F59E0B"
    background: str = "#FFFFFF"
    text: str = "#1F2937"
    heading_font: str = "DejaVu Sans"
    body_font: str = "DejaVu Sans"
    logo: bytes | None = None
    footer_text: str | None = None
    attribution: Attribution = "footnotes"
    template: bytes | None = None  # a PPTX whose masters, layouts and theme PPTX export uses
    default_layouts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Deck:
    title: str
    slides: list[DeckSlide]
    style: BrandStyle = field(default_factory=BrandStyle)
    language: str = "ru"
    subtitle: str | None = None
