"""`parmenid generate` as a real process: offline on the local engine, grounded JSON deck."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pypdfium2  # type: ignore[import-untyped]
import pytest
from pptx import Presentation

from tests.presentai.generation_support import SAMPLES


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARMENID_")}
    env.update({"PARMENID_DATA_DIR": str(tmp_path), "PARMENID_LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-m", "parmenid.cli", "generate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_generate_writes_a_grounded_deck(tmp_path: Path) -> None:
    out = tmp_path / "deck.json"
    done = _run(
        tmp_path,
        str(SAMPLES / "pep-0257.docx"),
        "--slides",
        "4",
        "--title",
        "Docstring conventions",
        "--language",
        "en",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    deck = json.loads(out.read_text(encoding="utf-8"))
    assert deck["title"] == "Docstring conventions"
    assert deck["provider"] == "local"
    assert len(deck["slides"]) == 4
    for slide in deck["slides"]:
        assert slide["status"] == "ready" and slide["title"]
        assert slide["bullets"], slide
        for bullet in slide["bullets"]:
            attribution = bullet["attribution"]
            assert attribution["document"] == "pep-0257"  # the title in the file
            assert attribution["citation"].startswith("pep-0257.docx")
            words = set(re.findall(r"\w+", bullet["text"].rstrip("…")))
            assert words <= set(re.findall(r"\w+", attribution["excerpt"])), bullet


@pytest.mark.parametrize("suffix", [".pptx", ".pdf"])
def test_generate_writes_a_rendered_file(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"deck{suffix}"
    done = _run(
        tmp_path,
        str(SAMPLES / "pep-0257.docx"),
        "--slides",
        "3",
        "--title",
        "Docstring conventions",
        "--language",
        "en",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = out.read_bytes()
    if suffix == ".pptx":
        deck = Presentation(io.BytesIO(data))
        assert len(deck.slides) >= 3
        titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
        assert titles and all(titles)
    else:
        assert data.startswith(b"%PDF-")
        document = pypdfium2.PdfDocument(data)
        assert len(document) >= 3
        document.close()


def test_unsupported_output_and_unreadable_source(tmp_path: Path) -> None:
    refused = _run(tmp_path, str(SAMPLES / "pep-0257.docx"), "--out", str(tmp_path / "d.key"))
    assert refused.returncode == 2
    assert "supported: .json, .pptx, .pdf" in refused.stderr
    locked = _run(
        tmp_path,
        str(SAMPLES / "libreoffice-writer-password.pdf"),
        "--out",
        str(tmp_path / "d.json"),
    )
    assert locked.returncode == 1
    assert "password-protected" in locked.stderr
    assert "Traceback" not in locked.stderr
