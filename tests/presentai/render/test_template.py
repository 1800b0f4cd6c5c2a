"""A brand kit's PPTX template: its layouts (found by type even when renamed), masters and theme
carry the deck; its own slides go; text boxes come from its placeholders."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER

from parmenid.presentai.render.api import RenderedFile, render_deck
from parmenid.presentai.render.deck import BrandStyle, Deck, DeckBullet, DeckSlide
from tests.presentai.render.checks import (
    TEMPLATE_ACCENT,
    TEMPLATE_TITLE_FONT,
    escaped_text,
)


def _pdf_pages(path: Path) -> int:
    import pypdfium2  # type: ignore[import-untyped]

    document = pypdfium2.PdfDocument(path.read_bytes())
    try:
        return len(document)
    finally:
        document.close()


def test_the_output_uses_the_templates_layouts_and_master(
    templated_deck: Deck, templated: RenderedFile, template: bytes
) -> None:
    prs = Presentation(io.BytesIO(templated.data))
    source = Presentation(io.BytesIO(template))
    slides = list(prs.slides)
    assert len(slides) == templated.slide_count
    names = [s.slide_layout.name for s in slides]
    kinds = [s.layout for s in templated_deck.slides]
    assert names[0] == "Corporate Cover"  # the title layout, renamed: found by its type
    assert names[1] == "Corporate Text"  # "Title and Content", renamed
    assert names[kinds.index("section")] == "Section Header"
    titles = [s.shapes.title.text for s in slides]
    assert names[titles.index("Сравнение: до и после")] == "Two Content"
    assert names[titles.index("Выручка по регионам")] == "Title Only"
    assert {s.slide_layout.slide_master.name for s in slides} == {source.slide_master.name}
    master_shapes = [s.name for s in prs.slide_master.shapes]
    assert "Corporate band" in master_shapes
    assert [lay.name for lay in prs.slide_layouts] == [lay.name for lay in source.slide_layouts]
    # the template's own sample slide is gone, parts and all
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        assert "sectionLst" in archive.read("ppt/presentation.xml").decode()
    with zipfile.ZipFile(io.BytesIO(templated.data)) as archive:
        xml = "".join(
            archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n.endswith(".xml")
        )
        theme = next(n for n in archive.namelist() if re.match(r"ppt/theme/theme\d+\.xml", n))
        theme_xml = archive.read(theme).decode()
    assert "TEMPLATE SAMPLE SLIDE" not in xml and "template notes" not in xml
    assert "sectionLst" not in xml  # its sections listed only its own slide
    assert f'typeface="{TEMPLATE_TITLE_FONT}"' in theme_xml and TEMPLATE_ACCENT in theme_xml


def test_text_sits_in_the_templates_placeholders(templated: RenderedFile, template: bytes) -> None:
    prs = Presentation(io.BytesIO(templated.data))
    source = Presentation(io.BytesIO(template))
    layout = next(lay for lay in source.slide_layouts if lay.name == "Corporate Text")
    title_ph = next(
        ph for ph in layout.placeholders if ph.placeholder_format.type == PP_PLACEHOLDER.TITLE
    )
    slide = prs.slides[1]
    title = slide.shapes.title
    assert (title.left, title.top, title.width, title.height) == (
        title_ph.left,
        title_ph.top,
        title_ph.width,
        title_ph.height,
    )
    # no brand font named: the theme's fonts apply; no colors forced over the template's
    run = title.text_frame.paragraphs[0].runs[0]
    assert run.font.name is None
    assert run.font.color and run.font.color.type is None


def test_libreoffice_opens_the_templated_deck(
    templated: RenderedFile, libreoffice: dict[str, Path]
) -> None:
    assert _pdf_pages(libreoffice["templated"]) == templated.slide_count
    assert escaped_text(templated.data, libreoffice["templated"].read_bytes()) == []


def test_the_brand_kit_picks_template_layouts_by_name(template: bytes) -> None:
    style = BrandStyle(
        template=template,
        default_layouts={"title": "Title Only", "content": "Two Content"},
        heading_font="Arial",
    )
    deck = Deck(
        "T",
        [
            DeckSlide(1, "Cover", "title"),
            DeckSlide(2, "Points", "bullets", [DeckBullet("one"), DeckBullet("two")]),
        ],
        style=style,
        language="en",
    )
    prs = Presentation(io.BytesIO(render_deck(deck, "pptx").data))
    assert [s.slide_layout.name for s in prs.slides] == ["Title Only", "Two Content"]
    title = prs.slides[0].shapes.title.text_frame.paragraphs[0].runs[0]
    assert title.font.name == "Arial"  # a family the brand names is written as it is


def test_a_4_3_template_keeps_its_size(template: bytes) -> None:
    source = Presentation()  # python-pptx's default: 4:3
    out = io.BytesIO()
    source.save(out)
    deck = Deck("T", [DeckSlide(1, "Заголовок", "bullets", [DeckBullet("пункт")])])
    rendered = render_deck(replace(deck, style=BrandStyle(template=out.getvalue())), "png")
    with zipfile.ZipFile(io.BytesIO(rendered.data)) as archive:
        from PIL import Image

        with Image.open(io.BytesIO(archive.read(archive.namelist()[0]))) as image:
            assert image.size == (1920, 1440)
