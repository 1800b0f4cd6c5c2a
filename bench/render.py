"""Benchmark rendering: a 20-slide deck in each format against bare baselines.

    .venv/bin/python bench/render.py                  # 5 rounds of ours, 3 of LibreOffice
    .venv/bin/python bench/render.py --rounds 9 --soffice-rounds 5

The deck is the render tests' sample (tests/presentai/render/sample_deck.py): every layout,
long Russian and English bullets (some continue on further slides), citations, notes, a table,
four charts, a logo and pictures. Compared, each as the median of its rounds, in this process:

* PPTX: `render_deck(deck, "pptx")` (layout with real font metrics, native text boxes, tables
  and charts, plus the PNG thumbnail of slide 1) against a bare python-pptx loop that writes the
  same titles, bullets and notes into python-pptx's default template ("Title and Content" for
  every slide, no measuring, no tables or charts). Printed per deck slide.
* PDF: `render_deck(deck, "pdf")` against LibreOffice converting our PPTX to PDF, cold: a new
  `soffice --headless --convert-to pdf` process with a fresh user profile each round (as a
  worker without a prepared profile would), and warm-profile (new process, profile reused).
* PNG (one per slide and a ZIP) is printed for reference.

Writes JSON into bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(REPO_DIR) not in sys.path:  # the sample deck lives with the tests
    sys.path.insert(0, str(REPO_DIR))

from pptx import Presentation  # noqa: E402
from tests.presentai.render.sample_deck import sample_deck  # noqa: E402

from machine import git_state, package_versions  # noqa: E402
from parmenid.presentai.render.api import render_deck  # noqa: E402
from parmenid.presentai.render.deck import Deck  # noqa: E402

PACKAGES = ("parmenid", "python-pptx", "reportlab", "pypdfium2", "pillow")


def _times(work: Callable[[], object], rounds: int) -> list[float]:
    found = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        found.append(time.perf_counter() - started)
    return found


def bare_pptx(deck: Deck) -> bytes:
    """The baseline: the deck's text into python-pptx's default template, nothing else."""
    prs = Presentation()
    layout = prs.slide_layouts[1]
    for slide in deck.slides:
        page = prs.slides.add_slide(layout)
        page.shapes.title.text = slide.title
        frame = page.placeholders[1].text_frame
        for index, bullet in enumerate(slide.bullets):
            paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
            paragraph.text = bullet.text
        if slide.speaker_notes:
            page.notes_slide.notes_text_frame.text = slide.speaker_notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def soffice_pdf(soffice: str, pptx: Path, profile: Path, out: Path) -> None:
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(pptx),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    if not (out / f"{pptx.stem}.pdf").exists():
        raise RuntimeError("LibreOffice wrote no PDF")


def main(rounds: int, soffice_rounds: int) -> dict[str, Any]:
    deck = sample_deck()
    render_deck(deck, "pdf")  # imports, font registration, caches: not what we measure
    bare_pptx(deck)
    pptx = render_deck(deck, "pptx")
    output_slides = pptx.slide_count
    results: dict[str, Any] = {
        "deck_slides": len(deck.slides),
        "output_slides": output_slides,
        "rounds": rounds,
        "soffice_rounds": soffice_rounds,
        "ours_pptx_s": _times(lambda: render_deck(deck, "pptx"), rounds),
        "bare_pptx_s": _times(lambda: bare_pptx(deck), rounds),
        "ours_pdf_s": _times(lambda: render_deck(deck, "pdf"), rounds),
        "ours_png_s": _times(lambda: render_deck(deck, "png"), max(1, rounds // 2)),
    }
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is not None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            source = root / "deck.pptx"
            source.write_bytes(pptx.data)
            cold: list[float] = []
            for n in range(soffice_rounds):
                profile = root / f"profile-{n}"
                cold += _times(lambda p=profile: soffice_pdf(soffice, source, p, root), 1)
            warm_profile = root / "profile-0"
            warm = _times(lambda: soffice_pdf(soffice, source, warm_profile, root), soffice_rounds)
            results["soffice_cold_s"] = cold
            results["soffice_warm_profile_s"] = warm
    med = {k: statistics.median(v) for k, v in results.items() if k.endswith("_s")}
    results["medians_s"] = med
    n = len(deck.slides)
    print(
        f"\n{n}-slide deck ({output_slides} slides out, with continuations), medians of "
        f"{rounds} rounds (LibreOffice: {soffice_rounds})\n"
    )
    print(f"{'':34}{'ours':>12}{'baseline':>12}{'ours/base':>11}")
    print(
        f"{'PPTX, per deck slide':34}{1000 * med['ours_pptx_s'] / n:>9.1f} ms"
        f"{1000 * med['bare_pptx_s'] / n:>9.1f} ms{med['ours_pptx_s'] / med['bare_pptx_s']:>10.2f}×"
        "   (bare python-pptx loop, text only)"
    )
    print(
        f"{'PPTX, whole deck':34}{med['ours_pptx_s']:>10.3f} s{med['bare_pptx_s']:>10.3f} s"
        f"{med['ours_pptx_s'] / med['bare_pptx_s']:>10.2f}×"
    )
    for key, label in (
        ("soffice_cold_s", "cold soffice, fresh profile"),
        ("soffice_warm_profile_s", "cold soffice, profile reused"),
    ):
        if key in med:
            print(
                f"{'PDF, whole deck':34}{med['ours_pdf_s']:>10.3f} s{med[key]:>10.3f} s"
                f"{med['ours_pdf_s'] / med[key]:>10.3f}×   ({label})"
            )
    if "soffice_cold_s" not in med:
        print(f"{'PDF, whole deck':34}{med['ours_pdf_s']:>10.3f} s   (no LibreOffice installed)")
    print(f"{'PNG ZIP, whole deck (reference)':34}{med['ours_png_s']:>10.3f} s")
    results["ratios"] = {
        "pptx_ours_over_bare": med["ours_pptx_s"] / med["bare_pptx_s"],
        **(
            {
                "pdf_ours_over_soffice_cold": med["ours_pdf_s"] / med["soffice_cold_s"],
                "pdf_ours_over_soffice_warm_profile": med["ours_pdf_s"]
                / med["soffice_warm_profile_s"],
            }
            if "soffice_cold_s" in med
            else {}
        ),
    }
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--soffice-rounds", type=int, default=3)
    args = parser.parse_args()
    found = main(args.rounds, args.soffice_rounds)
    found.update(git=git_state(), packages=package_versions(PACKAGES))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"render-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(f"\nwritten to {path.relative_to(REPO_DIR)}")
