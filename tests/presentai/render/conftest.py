"""Rendered once per test session: the 20-slide sample deck in every format, the same deck on
a corporate template, and LibreOffice's conversion of both PPTX files (one `soffice` run)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from parmenid.presentai.render.api import RenderedFile, render_deck
from parmenid.presentai.render.deck import BrandStyle, Deck
from tests.presentai.render.checks import corporate_template
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
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (CI installs libreoffice-impress-nogui)")
    folder = tmp_path_factory.mktemp("libreoffice")
    sources = {"deck": rendered["pptx"].data, "templated": templated.data}
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
