"""Text never overflows its box: measured with the shipped fonts, shrunk within limits, split
onto continuation slides; and the check that says so fails when fitting is switched off."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from pptx import Presentation

from parmenid.presentai.render import layout
from parmenid.presentai.render.api import RenderedFile, layout_pages, render_deck
from parmenid.presentai.render.boxes import Page, TextBox
from parmenid.presentai.render.deck import BrandStyle, Deck, DeckBullet, DeckSlide
from parmenid.presentai.render.fonts import BOLD, FONTS_DIR, REGULAR
from parmenid.presentai.render.measure import RunText, text_width, wrap
from tests.presentai.render.checks import overflows
from tests.presentai.render.sample_deck import HUGE, LONG_EN


def test_no_text_box_overflows(rendered: dict[str, RenderedFile], templated: RenderedFile) -> None:
    assert overflows(rendered["pptx"].data) == []
    assert overflows(templated.data) == []


def test_the_overflow_check_fails_without_fitting(
    deck: Deck, rendered: dict[str, RenderedFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every text taken to fit as it is (largest size, nothing split), the check finds
    the boxes that overflow."""
    monkeypatch.setattr(TextBox, "text_height", lambda self: 0.0)
    unfitted = render_deck(deck, "pptx")
    found = overflows(unfitted.data)
    assert len(found) >= 5, found
    assert unfitted.slide_count < rendered["pptx"].slide_count  # no text continued


def test_sizes_stay_within_their_limits(deck: Deck) -> None:
    pages = layout_pages(deck)
    for page in pages:
        for box in page.text_boxes():
            if box.role == "body":
                assert layout.QUOTE.smallest <= box.size <= layout.QUOTE.largest or (
                    layout.BODY.smallest - 2 <= box.size <= layout.BODY.largest
                ), (page.number, box.size)
            if box.role == "title" and page.kind not in ("title", "section", "closing"):
                assert layout.TITLE.smallest <= box.size <= layout.TITLE.largest
            assert box.text_height() <= box.rect.h - 2 * box.inset + 1e-6, (page.number, box.role)


def test_long_bullets_continue_on_even_slides() -> None:
    bullets = [DeckBullet(LONG_EN, f"doc.pdf, p. {i}") for i in range(6)]
    deck = Deck(
        "Plan", [DeckSlide(1, "Plan", "bullets", bullets, speaker_notes="Say it")], language="en"
    )
    pages = layout_pages(deck)
    assert [p.continuation for p in pages] == list(range(len(pages)))
    assert len(pages) >= 2
    titles = [next(b for b in p.text_boxes() if b.role == "title").text for p in pages]
    assert titles[0] == "Plan" and all(t == "Plan (cont.)" for t in titles[1:])
    counts = [sum(len(b.paragraphs) for b in p.text_boxes() if b.role == "body") for p in pages]
    assert sum(counts) == 6 and max(counts) - min(counts) <= 1, counts
    assert pages[0].notes == "Say it" and all(p.notes == "" for p in pages[1:])


def test_a_bullet_longer_than_a_slide_is_cut_between_words() -> None:
    deck = Deck("Plan", [DeckSlide(1, "План", "bullets", [DeckBullet(HUGE, None)])])
    pages = layout_pages(deck)
    assert len(pages) >= 2
    assert next(b for b in pages[1].text_boxes() if b.role == "title").text == (
        "План (продолжение)"
    )
    text = " ".join(b.text for p in pages for b in p.text_boxes() if b.role == "body")
    follow = next(b for b in pages[1].text_boxes() if b.role == "body")
    assert not follow.paragraphs[0].bullet and follow.paragraphs[0].hanging  # going on
    assert text.split() == HUGE.split()  # every word, once, in order


def test_a_title_too_long_for_its_box_ends_with_an_ellipsis() -> None:
    title = "Очень длинный заголовок слайда " * 12
    pages = layout_pages(Deck("T", [DeckSlide(1, title, "bullets", [DeckBullet("x")])]))
    box = next(b for b in pages[0].text_boxes() if b.role == "title")
    assert box.text.endswith("…") and box.size == layout.TITLE.smallest
    assert box.text_height() <= box.rect.h - 2 * box.inset


def test_footnotes_or_notes_carry_the_sources() -> None:
    bullets = [
        DeckBullet("Рост 18 %", "report.pdf, p. 3"),
        DeckBullet("Маржа 32 %", "fin.xlsx"),
        DeckBullet("Клиенты", "report.pdf, p. 3"),
        DeckBullet("Своё", None),
    ]
    slide = DeckSlide(1, "Итоги", "bullets", bullets, speaker_notes="Заметка")
    pages = layout_pages(Deck("T", [slide]))
    body = next(b for b in pages[0].text_boxes() if b.role == "body")
    marks = [[r.text for r in p.runs if r.superscript] for p in body.paragraphs]
    assert marks == [["[1]"], ["[2]"], ["[1]"], []]
    footnotes = next(b for b in pages[0].text_boxes() if b.role == "footnotes")
    assert footnotes.text == "[1] report.pdf, p. 3 · [2] fin.xlsx"
    assert footnotes.rect.y >= body.rect.bottom
    assert pages[0].notes == "Заметка"

    in_notes = layout_pages(Deck("T", [slide], style=BrandStyle(attribution="notes")))
    assert not [b for b in in_notes[0].text_boxes() if b.role == "footnotes"]
    assert in_notes[0].notes == "Заметка\n\nИсточники: report.pdf, p. 3; fin.xlsx"
    prs = Presentation(
        io.BytesIO(
            render_deck(
                Deck("T", [slide], style=BrandStyle(attribution="notes"), language="en"), "pptx"
            ).data
        )
    )
    assert prs.slides[0].notes_slide.notes_text_frame.text.endswith(
        "Sources: report.pdf, p. 3; fin.xlsx"
    )


def test_the_fonts_ship_with_their_licence() -> None:
    for face in (REGULAR, BOLD):
        assert face.path.is_file() and face.path.parent == FONTS_DIR
    assert "Bitstream Vera" in (FONTS_DIR / "LICENSE").read_text(encoding="utf-8")


def test_wrapping_uses_the_fonts_metrics() -> None:
    assert text_width("Ш", "DejaVuSans", 10) > text_width("i", "DejaVuSans", 10)
    assert text_width("Итоги", "DejaVuSans-Bold", 24) > text_width("Итоги", "DejaVuSans", 24)
    lines = wrap(
        [RunText("один два три четыре", "DejaVuSans")],
        10,
        text_width("один два", "DejaVuSans", 10) + 0.1,
    )
    assert ["".join(p.text for p in line) for line in lines] == ["один два", "три", "четыре"]
    broken = wrap([RunText("x" * 40, "DejaVuSans")], 10, text_width("x" * 10, "DejaVuSans", 10))
    assert [len("".join(p.text for p in line)) for line in broken] == [10, 10, 10, 10]


def test_brand_colors_and_fonts_reach_the_pptx(deck: Deck) -> None:
    style = BrandStyle(
        primary="#0F766E",
        accent="#F97316",
        heading_font="Arial",
        body_font="Calibri",
        footer_text="ACME",
    )
    prs = Presentation(io.BytesIO(render_deck(replace(deck, style=style), "pptx").data))
    slide = prs.slides[3]  # "Ключевые результаты"
    title = slide.shapes.title.text_frame.paragraphs[0].runs[0].font
    assert (title.name, str(title.color.rgb), title.bold) == ("Arial", "0F766E", True)
    body = next(s for s in slide.placeholders if s.placeholder_format.idx == 1)
    assert body.text_frame.paragraphs[0].runs[0].font.name == "Calibri"
    assert any(s.has_text_frame and s.text_frame.text == "ACME" for s in slide.shapes)


def test_a_title_of_one_endless_word_is_cut_between_characters() -> None:
    pages = layout_pages(Deck("T", [DeckSlide(1, "x" * 400, "title")]))
    box = next(b for b in pages[0].text_boxes() if b.role == "title")
    assert box.text.startswith("x" * 20) and box.text.endswith("…")
    assert box.text_height() <= box.rect.h - 2 * box.inset


def test_titles_keep_to_a_readable_color() -> None:
    slide = DeckSlide(1, "Title", "bullets", [DeckBullet("a")])
    readable = layout_pages(Deck("T", [slide], style=BrandStyle(primary="#0F766E")))
    pale = layout_pages(Deck("T", [slide], style=BrandStyle(primary="#FFFF00")))

    def color(pages: list[Page]) -> str | None:
        title = next(b for b in pages[0].text_boxes() if b.role == "title")
        return title.paragraphs[0].runs[0].style.color

    assert color(readable) == "#0F766E"
    assert color(pale) == BrandStyle().text  # yellow on white does not read
