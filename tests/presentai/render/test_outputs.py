"""The 20-slide deck in every format: files that open, one page or picture per slide, native
shapes rather than pictures of slides, Cyrillic that a PDF reader can find."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pypdfium2  # type: ignore[import-untyped]
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from parmenid.presentai.render.api import RenderedFile
from parmenid.presentai.render.deck import Deck
from tests.presentai.render.checks import escaped_text
from tests.presentai.render.sample_deck import RUSSIAN_BULLET


def _pdfinfo_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    found = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert found, info.stdout
    return int(found.group(1))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pptx_reopens_with_native_content(deck: Deck, rendered: dict[str, RenderedFile]) -> None:
    pptx = rendered["pptx"]
    assert pptx.filename.endswith(".pptx")
    prs = Presentation(io.BytesIO(pptx.data))
    slides = list(prs.slides)
    assert len(deck.slides) == 20
    assert len(slides) == pptx.slide_count > 20  # the long slides continued
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in slides]
    assert all(titles), titles
    assert any(t.endswith("(продолжение)") for t in titles)
    assert sum(1 for s in slides for sh in s.shapes if sh.has_chart) == 4
    assert sum(1 for s in slides for sh in s.shapes if sh.has_table) >= 2
    area = prs.slide_width * prs.slide_height
    for slide in slides:
        for shape in slide.shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:  # a logo or a slide's own image
                assert shape.width * shape.height < area / 4
    notes = {
        titles[i]: s.notes_slide.notes_text_frame.text
        for i, s in enumerate(slides)
        if s.has_notes_slide
    }
    assert notes["Ключевые результаты"] == "Подчеркнуть рост в регионах."
    assert pptx.thumbnail is not None


def test_libreoffice_converts_the_pptx_page_for_slide(
    rendered: dict[str, RenderedFile], libreoffice: dict[str, Path]
) -> None:
    assert _pdfinfo_pages(libreoffice["deck"]) == rendered["pptx"].slide_count


def test_libreoffice_draws_every_text_inside_its_box(
    rendered: dict[str, RenderedFile], libreoffice: dict[str, Path]
) -> None:
    escaped = escaped_text(rendered["pptx"].data, libreoffice["deck"].read_bytes())
    assert escaped == []


def test_pdf_has_a_page_per_slide_and_searchable_cyrillic(
    rendered: dict[str, RenderedFile], tmp_path: Path
) -> None:
    pdf = rendered["pdf"]
    assert pdf.data.startswith(b"%PDF-") and pdf.content_type == "application/pdf"
    path = tmp_path / "deck.pdf"
    path.write_bytes(pdf.data)
    assert _pdfinfo_pages(path) == pdf.slide_count == rendered["pptx"].slide_count
    document = pypdfium2.PdfDocument(pdf.data)
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    assert _squeeze(RUSSIAN_BULLET) in _squeeze(text)
    assert "Ключевые результаты" in text


def test_png_zip_holds_a_full_hd_picture_per_slide(rendered: dict[str, RenderedFile]) -> None:
    png = rendered["png"]
    assert png.content_type == "application/zip" and png.filename.endswith("-png.zip")
    with zipfile.ZipFile(io.BytesIO(png.data)) as archive:
        names = sorted(archive.namelist())
        assert len(names) == png.slide_count == rendered["pptx"].slide_count
        for name in names:
            with Image.open(io.BytesIO(archive.read(name))) as image:
                assert image.format == "PNG"
                assert image.size == (1920, 1080)


def test_every_format_has_a_thumbnail_of_the_first_slide(
    rendered: dict[str, RenderedFile],
) -> None:
    thumbnails = [rendered[fmt].thumbnail for fmt in ("pptx", "pdf", "png")]
    for thumbnail in thumbnails:
        assert thumbnail is not None
        with Image.open(io.BytesIO(thumbnail)) as image:
            assert image.format == "PNG" and image.size == (640, 360)
            # the cover's band is the brand's primary color
            assert image.convert("RGB").getpixel((20, 20)) == (0x1F, 0x3A, 0x93)
    assert thumbnails[0] == thumbnails[1]
