"""Rendering a deck to files: the one entry point exports and the CLI call.

One layout computation (`layout.layout_deck`) on the geometry of our 16:9 base or of the brand
kit's PPTX template feeds every emitter: PPTX (python-pptx), PDF (reportlab) and PNG (the PDF's
pages rasterized by PDFium).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from parmenid.presentai.render.boxes import Page
from parmenid.presentai.render.deck import Deck, DeckSlide
from parmenid.presentai.render.layout import layout_deck
from parmenid.presentai.render.pdf_writer import write_pdf
from parmenid.presentai.render.png import pages_as_png, thumbnail, zip_pngs
from parmenid.presentai.render.pptx_writer import geometry_for, open_base, write_pptx

FileFormat = Literal["pptx", "pdf", "png"]
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


@dataclass(frozen=True)
class RenderedFile:
    filename: str  # e.g. "deck.pptx"; PNG: "deck-png.zip" holding one image per slide
    content_type: str
    data: bytes
    slide_count: int  # slides in the output (continuation slides included)
    thumbnail: bytes | None = None  # PNG of the first slide


def file_stem(title: str) -> str:
    """A file name from the deck's title: letters and digits (any script) joined by '-'."""
    stem = "-".join(re.findall(r"\w+", title.casefold()))[:80].strip("-_")
    return stem or "deck"


def _with_slides(deck: Deck) -> Deck:
    if deck.slides:
        return deck
    return replace(deck, slides=[DeckSlide(number=1, title=deck.title, layout="title")])


def layout_pages(deck: Deck) -> list[Page]:
    """The pages every output draws (for callers that want the layout itself)."""
    deck = _with_slides(deck)
    return layout_deck(deck, geometry_for(deck.style))


def render_deck(deck: Deck, fmt: FileFormat) -> RenderedFile:
    """Render `deck` as `fmt`. CPU-bound and synchronous: call it in a worker thread."""
    deck = _with_slides(deck)
    stem = file_stem(deck.title)
    if fmt == "pptx":
        prs, geometry = open_base(deck.style)
        pages = layout_deck(deck, geometry)
        data = write_pptx(prs, pages, deck.language)
        first = write_pdf(pages[:1], geometry.size, deck.style.background, deck.title)
        return RenderedFile(f"{stem}.pptx", PPTX_TYPE, data, len(pages), thumbnail(first))
    geometry = geometry_for(deck.style)
    pages = layout_deck(deck, geometry)
    pdf = write_pdf(pages, geometry.size, deck.style.background, deck.title)
    if fmt == "pdf":
        return RenderedFile(f"{stem}.pdf", "application/pdf", pdf, len(pages), thumbnail(pdf))
    if fmt == "png":
        archive = zip_pngs(pages_as_png(pdf))
        return RenderedFile(
            f"{stem}-png.zip", "application/zip", archive, len(pages), thumbnail(pdf)
        )
    raise ValueError(f"unknown format {fmt!r}")
