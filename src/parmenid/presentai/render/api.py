"""Rendering a deck to files: the one entry point exports and the CLI call.

(First working version: simple emitters; the layout engine replaces them.)
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from parmenid.presentai.render.deck import Deck

FileFormat = Literal["pptx", "pdf", "png"]

_FONTS = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class RenderedFile:
    filename: str  # e.g. "deck.pptx"; PNG: "deck-png.zip" holding one image per slide
    content_type: str
    data: bytes
    slide_count: int  # slides in the output (continuation slides included)
    thumbnail: bytes | None = None  # PNG of the first slide


def _pptx(deck: Deck) -> bytes:
    from pptx import Presentation
    from pptx.util import Emu, Pt

    prs = Presentation()
    prs.slide_width = Emu(12192000)
    prs.slide_height = Emu(6858000)
    for s in deck.slides:
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        box = slide.shapes.add_textbox(Emu(457200), Emu(300000), Emu(11277600), Emu(900000))
        box.text_frame.word_wrap = True
        box.text_frame.text = s.title
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(28)
        body = slide.shapes.add_textbox(Emu(457200), Emu(1300000), Emu(11277600), Emu(5000000))
        body.text_frame.word_wrap = True
        for i, b in enumerate(s.bullets):
            p = body.text_frame.paragraphs[0] if i == 0 else body.text_frame.add_paragraph()
            p.text = "• " + b.text
            p.runs[0].font.size = Pt(14)
        if s.speaker_notes:
            slide.notes_slide.notes_text_frame.text = s.speaker_notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _pdf(deck: Deck) -> bytes:
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(_FONTS / "DejaVuSans.ttf")))
    w, h = 960.0, 540.0
    out = io.BytesIO()
    c = Canvas(out, pagesize=(w, h))
    for s in deck.slides:
        c.setFont("DejaVuSans", 28)
        c.drawString(36, h - 60, s.title[:80])
        y = h - 110
        for b in s.bullets:
            for line in simpleSplit("• " + b.text, "DejaVuSans", 14, w - 72):
                c.setFont("DejaVuSans", 14)
                c.drawString(36, y, line)
                y -= 18
        c.showPage()
    c.save()
    return out.getvalue()


def _pngs(pdf: bytes) -> list[bytes]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    images = []
    for page in doc:
        buf = io.BytesIO()
        page.render(scale=2).to_pil().save(buf, format="PNG")
        images.append(buf.getvalue())
    return images


def render_deck(deck: Deck, fmt: FileFormat) -> RenderedFile:
    """Render `deck` as `fmt`. CPU-bound and synchronous: call it in a worker thread."""
    pdf = _pdf(deck)
    pngs = _pngs(pdf)
    thumb = pngs[0] if pngs else None
    n = len(deck.slides)
    if fmt == "pptx":
        ct = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        return RenderedFile("deck.pptx", ct, _pptx(deck), n, thumb)
    if fmt == "pdf":
        return RenderedFile("deck.pdf", "application/pdf", pdf, n, thumb)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, png in enumerate(pngs, 1):
            z.writestr(f"slide-{i:02d}.png", png)
    return RenderedFile("deck-png.zip", "application/zip", buf.getvalue(), n, thumb)
