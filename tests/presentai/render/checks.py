"""What the render tests measure: text boxes of a PPTX against the shipped font metrics, text
that LibreOffice drew against the boxes it belongs to, and a corporate template to build on."""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.util import Emu, Pt

from parmenid.presentai.render.fonts import BOLD, REGULAR
from parmenid.presentai.render.measure import LINE_FACTOR, RunText, wrap

EMU = 12700
TEMPLATE_TITLE_FONT = "Georgia"
TEMPLATE_BODY_FONT = "Verdana"
TEMPLATE_ACCENT = "C00000"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
P14 = "http://schemas.microsoft.com/office/powerpoint/2010/main"
SECTIONS_URI = "{521415D9-36F7-43E2-AB2F-B90AF26B5E84}"


def _frame_height(frame: Any, width: float) -> float:
    """The height of a text frame's text wrapped to `width` pt, as the layout measures it."""
    height = 0.0
    for index, p in enumerate(frame.paragraphs):
        runs = [r for r in p.runs if r.text]
        if not runs:
            continue
        sizes = [r.font.size.pt for r in runs if r.font.size is not None]
        assert len(sizes) == len(runs), f"a run without a font size: {p.text!r}"
        size = max(sizes)
        ppr = p._p.pPr
        indent = int(ppr.get("marL", "0")) / EMU if ppr is not None else 0.0
        pitch = p.line_spacing.pt if hasattr(p.line_spacing, "pt") else size * LINE_FACTOR
        faces = [BOLD.name if r.font.bold else REGULAR.name for r in runs]
        lines = wrap(
            [RunText(r.text, f) for r, f in zip(runs, faces, strict=True)], size, width - indent
        )
        height += len(lines) * pitch
        if index and p.space_before is not None:
            height += p.space_before.pt
    return height


def overflows(pptx: bytes) -> list[str]:
    """Every text box (and table cell) whose text, wrapped to its width with the shipped fonts'
    metrics at its font size, is taller than the box."""
    found: list[str] = []
    deck = Presentation(io.BytesIO(pptx))
    for number, slide in enumerate(deck.slides, 1):
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                frame = shape.text_frame
                body = frame._txBody.bodyPr
                assert body.find("{*}noAutofit") is not None, "autofit must be off"
                assert frame.word_wrap is True
                width = (shape.width - frame.margin_left - frame.margin_right) / EMU
                room = (shape.height - frame.margin_top - frame.margin_bottom) / EMU
                need = _frame_height(frame, width)
                if need > room + 0.01:
                    found.append(f"slide {number} {shape.name}: {need:.1f} > {room:.1f} pt")
            if getattr(shape, "has_table", False) and shape.has_table:
                table = shape.table
                for r, row in enumerate(table.rows):
                    for c, cell in enumerate(row.cells):
                        width = table.columns[c].width - cell.margin_left - cell.margin_right
                        room = (row.height - cell.margin_top - cell.margin_bottom) / EMU
                        need = _frame_height(cell.text_frame, width / EMU)
                        if need > room + 0.01:
                            found.append(f"slide {number} cell {r},{c}: {need:.1f} > {room:.1f}")
    return found


def _squeeze(text: str) -> str:
    return re.sub(r"[\s•\u00ad\ufffe]+", "", text).casefold()


def escaped_text(pptx: bytes, pdf: bytes) -> list[str]:
    """Text boxes whose text the PDF (LibreOffice's rendering of the PPTX) does not hold inside
    the box's rectangle: text drawn outside its box, overflowing or clipped."""
    import pypdfium2  # type: ignore[import-untyped]

    found: list[str] = []
    deck = Presentation(io.BytesIO(pptx))
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == len(deck.slides)
        for number, (slide, page) in enumerate(zip(deck.slides, document, strict=True), 1):
            text_page = page.get_textpage()
            height = page.get_height()
            for shape in slide.shapes:
                if not (shape.has_text_frame and shape.text_frame.text.strip()):
                    continue
                x, y = shape.left / EMU, shape.top / EMU
                w, h = shape.width / EMU, shape.height / EMU
                inside = text_page.get_text_bounded(
                    x - 1, height - y - h - 1, x + w + 1, height - y + 1
                )
                if _squeeze(shape.text_frame.text) not in _squeeze(inside):
                    found.append(f"slide {number} {shape.name}: {shape.text_frame.text[:50]!r}")
    finally:
        document.close()
    return found


def corporate_template() -> bytes:
    """A 16:9 template with renamed layouts, its own theme fonts and accent color, a shape on
    its master and a sample slide of its own (which the output must not keep)."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    layouts = list(prs.slide_layouts)
    layouts[0]._element.cSld.set("name", "Corporate Cover")
    layouts[1]._element.cSld.set("name", "Corporate Text")
    sample = prs.slides.add_slide(layouts[1])
    sample.shapes.title.text = "TEMPLATE SAMPLE SLIDE"
    sample.notes_slide.notes_text_frame.text = "template notes"
    # MasterShapes cannot add shapes: make it on the sample slide, copy it to the master
    band = sample.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, prs.slide_width, Pt(12))
    band.name = "Corporate band"
    band.fill.solid()
    band.fill.fore_color.rgb = RGBColor.from_string(TEMPLATE_ACCENT)
    copied = copy.deepcopy(band._element)
    copied.nvSpPr.cNvPr.set("id", "900")
    prs.slide_master.shapes._spTree.append(copied)
    theme = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(theme.blob)
    ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
    root.find(".//a:majorFont/a:latin", ns).set("typeface", TEMPLATE_TITLE_FONT)
    root.find(".//a:minorFont/a:latin", ns).set("typeface", TEMPLATE_BODY_FONT)
    accent = root.find(".//a:clrScheme/a:accent1", ns)
    for child in list(accent):
        accent.remove(child)
    etree.SubElement(accent, f"{{{ns['a']}}}srgbClr", val=TEMPLATE_ACCENT)
    theme._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    # a section listing the sample slide, as PowerPoint writes it
    slide_id = prs.slides._sldIdLst[0].get("id")
    presentation = prs.part._element
    extensions = presentation.find("{*}extLst")
    if extensions is None:
        extensions = etree.SubElement(presentation, f"{{{P}}}extLst")
    extension = etree.SubElement(extensions, f"{{{P}}}ext", uri=SECTIONS_URI)
    sections = etree.SubElement(extension, f"{{{P14}}}sectionLst", nsmap={"p14": P14})
    section = etree.SubElement(
        sections, f"{{{P14}}}section", name="Intro", id="{2B5E2B2A-1C1D-4C5B-9A40-6A1E8C1F0F01}"
    )
    listed = etree.SubElement(section, f"{{{P14}}}sldIdLst")
    etree.SubElement(listed, f"{{{P14}}}sldId", id=slide_id)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def libreoffice_pdfs(sources: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """LibreOffice's PDFs of PPTX files (name → bytes), converted in one headless `soffice` run
    with a profile of its own; skips when LibreOffice is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (CI installs libreoffice-impress-nogui)")
    for name, data in sources.items():
        (folder / f"{name}.pptx").write_bytes(data)
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder / "out"),
            *(str(folder / f"{name}.pptx") for name in sources),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    pdfs = {name: folder / "out" / f"{name}.pdf" for name in sources}
    for name, pdf in pdfs.items():
        assert pdf.exists(), f"LibreOffice wrote no PDF for {name}: {done.stdout} {done.stderr}"
    return pdfs
