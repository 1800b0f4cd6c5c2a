"""Rendering a deck to files: the one entry point exports and the CLI call.

(Interface fixed for the engineers working in parallel; the renderer replaces the body.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parmenid.presentai.render.deck import Deck

FileFormat = Literal["pptx", "pdf", "png"]


@dataclass(frozen=True)
class RenderedFile:
    filename: str  # e.g. "deck.pptx"; PNG: "deck-png.zip" holding one image per slide
    content_type: str
    data: bytes
    slide_count: int  # slides in the output (continuation slides included)
    thumbnail: bytes | None = None  # PNG of the first slide


def render_deck(deck: Deck, fmt: FileFormat) -> RenderedFile:
    """Render `deck` as `fmt`. CPU-bound and synchronous: call it in a worker thread."""
    raise NotImplementedError("the renderer is being built")
