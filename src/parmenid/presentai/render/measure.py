"""Text measurement with the advance widths of the shipped font files, and greedy line wrapping.

Wrapping is what PowerPoint and LibreOffice do: break at spaces, fill each line as far as it
goes, break a word longer than the line between characters. A renderer that may break in more
places (after hyphens, say) or draws a narrower font only ever needs fewer lines, so a height
computed here is an upper bound of the drawn one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

from parmenid.presentai.render.fonts import register

LINE_FACTOR = 1.2  # line pitch in font sizes, written to the PPTX as exact line spacing


@lru_cache(maxsize=200_000)
def unit_width(text: str, font: str) -> float:
    """Width of `text` at 1 pt in the registered face `font`."""
    register()
    return float(stringWidth(text, font, 1000.0)) / 1000.0


def text_width(text: str, font: str, size: float) -> float:
    return unit_width(text, font) * size


@dataclass(frozen=True)
class Piece:
    """Text set in one face: `run` says which of the paragraph's runs it comes from."""

    text: str
    run: int
    width: float


Line = tuple[Piece, ...]


@dataclass(frozen=True)
class RunText:
    text: str
    font: str  # registered face name


@dataclass(frozen=True)
class _Word:
    parts: tuple[tuple[str, int, float], ...]  # (text, run, width at 1 pt)
    width: float  # at 1 pt
    space: float  # the width at 1 pt of the space before it


@lru_cache(maxsize=20_000)
def _words(runs: tuple[RunText, ...]) -> tuple[_Word, ...]:
    """Words as (text, run) parts: a word may straddle runs (a word and its footnote mark)."""
    words: list[_Word] = []
    current: list[tuple[str, int, float]] = []

    def close() -> None:
        if current:
            space = unit_width(" ", runs[current[0][1]].font)
            words.append(_Word(tuple(current), sum(p[2] for p in current), space))
            current.clear()

    for index, run in enumerate(runs):
        for n, part in enumerate(run.text.split(" ")):
            if n > 0:
                close()
            if part:
                current.append((part, index, unit_width(part, run.font)))
    close()
    return tuple(words)


def wrap(runs: Sequence[RunText], size: float, width: float) -> list[Line]:
    """Lines of the paragraph made of `runs` at `size` pt in a box `width` pt wide. Whitespace
    collapses to single spaces (callers normalize it). An empty paragraph is one empty line."""
    return list(_wrap(tuple(runs), size, width))


@lru_cache(maxsize=50_000)
def _wrap(runs: tuple[RunText, ...], size: float, width: float) -> tuple[Line, ...]:
    limit = width / size if size > 0 else 0.0  # widths below are at 1 pt
    lines: list[list[tuple[str, int, float]]] = []
    line: list[tuple[str, int, float]] = []
    used = 0.0
    for word in _words(runs):
        space = word.space if line else 0.0
        if used + space + word.width <= limit:
            if line:
                line.append((" ", word.parts[0][1], space))
            line.extend(word.parts)
            used += space + word.width
            continue
        if line and word.width <= limit:
            lines.append(line)
            line, used = list(word.parts), word.width
            continue
        # longer than a line: break between characters, starting on a fresh line
        if line:
            lines.append(line)
            line, used = [], 0.0
        for text, run, _ in word.parts:
            for char in text:
                glyph = unit_width(char, runs[run].font)
                if line and used + glyph > limit:
                    lines.append(line)
                    line, used = [], 0.0
                line.append((char, run, glyph))
                used += glyph
    if line or not lines:
        lines.append(line)
    return tuple(_merge(line, size) for line in lines)


def _merge(line: list[tuple[str, int, float]], size: float) -> Line:
    """Adjacent parts of the same run joined, so an emitter draws whole strings."""
    merged: list[Piece] = []
    texts: list[str] = []
    run, width = -1, 0.0
    for text, part_run, part_width in line:
        if part_run != run and texts:
            merged.append(Piece("".join(texts), run, width * size))
            texts, width = [], 0.0
        run = part_run
        texts.append(text)
        width += part_width
    if texts:
        merged.append(Piece("".join(texts), run, width * size))
    return tuple(merged)


def line_width(line: Line) -> float:
    return sum(p.width for p in line)


def line_text(line: Line) -> str:
    return "".join(p.text for p in line)
