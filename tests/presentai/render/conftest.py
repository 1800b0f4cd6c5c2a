"""Rendered once per test session: the 20-slide sample deck in every format, the same deck on
a corporate template, and LibreOffice's conversion of both PPTX files (one `soffice` run)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from parmenid.presentai.render.api import RenderedFile, render_deck
from parmenid.presentai.render.deck import BrandStyle, Deck
from tests.presentai.render.checks import corporate_template, libreoffice_pdfs
from tests.presentai.render.sample_deck import sample_deck


@pytest.fixture(scope="session")
def deck() -> Deck:
    return sample_deck()


@pytest.fixture(scope="session")
def rendered(deck: Deck) -> dict[str, RenderedFile]:
    return {fmt: render_deck(deck, fmt) for fmt in ("pptx", "pdf", "png")}


@pytest.fixture(scope="session")
def template() -> bytes:
    return corporate_template()


@pytest.fixture(scope="session")
def templated_deck(deck: Deck, template: bytes) -> Deck:
    style = BrandStyle(primary="#7A1F1F", template=template, footer_text="Corporate")
    return replace(deck, style=style)


@pytest.fixture(scope="session")
def templated(templated_deck: Deck) -> RenderedFile:
    return render_deck(templated_deck, "pptx")


@pytest.fixture(scope="session")
def libreoffice(
    rendered: dict[str, RenderedFile],
    templated: RenderedFile,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """LibreOffice's PDFs of our PPTX files, by name: "deck" and "templated"."""
    sources = {"deck": rendered["pptx"].data, "templated": templated.data}
    return libreoffice_pdfs(sources, tmp_path_factory.mktemp("libreoffice"))
