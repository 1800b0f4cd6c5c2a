"""The fonts the renderer ships, and which of them measures (and draws) a brand's font family.

DejaVu Sans (regular and bold, Bitstream Vera licence, see `LICENSE` here) covers Latin, Cyrillic
and Greek. Every text is measured with these files: a brand family the package does not ship
(say "Arial") is measured with DejaVu Sans, which is wider than the common office sans fonts, so
text that fits when measured fits when PowerPoint draws it in the named family. The PDF and PNG
outputs draw with the file that measured.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

FONTS_DIR = Path(__file__).parent
SHIPPED_FAMILY = "DejaVu Sans"


@dataclass(frozen=True)
class Face:
    """One font file: `name` is how reportlab knows it once registered."""

    name: str
    path: Path
    family: str
    bold: bool
    # hhea metrics, in ems: what layout engines use for the line box
    ascent: float = 0.928
    descent: float = 0.236


REGULAR = Face("DejaVuSans", FONTS_DIR / "DejaVuSans.ttf", SHIPPED_FAMILY, bold=False)
BOLD = Face("DejaVuSans-Bold", FONTS_DIR / "DejaVuSans-Bold.ttf", SHIPPED_FAMILY, bold=True)
_FACES = {REGULAR.name: REGULAR, BOLD.name: BOLD}
_lock = threading.Lock()
_registered = False


def register() -> None:
    """Register the shipped faces with reportlab (once per process; thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if not _registered:
            for face in _FACES.values():
                pdfmetrics.registerFont(TTFont(face.name, str(face.path)))
            _registered = True


def is_shipped(family: str | None) -> bool:
    return bool(family) and " ".join(str(family).split()).casefold() == SHIPPED_FAMILY.casefold()


def face_for(family: str | None, *, bold: bool) -> Face:
    """The shipped face that measures `family` (any family: see the module docstring)."""
    register()
    return BOLD if bold else REGULAR


def face_named(name: str) -> Face:
    register()
    return _FACES[name]
