"""Fitting text into a box: wrap with the real font metrics, shrink within limits, and say when
it still does not fit (the deck layout then splits the slide) or cut it with an ellipsis where
there is nowhere to continue (a title).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from parmenid.presentai.render.boxes import (
    Align,
    Anchor,
    Cell,
    Paragraph,
    PlaceholderRole,
    Rect,
    Run,
    TableBox,
    TextBox,
)
from parmenid.presentai.render.measure import LINE_FACTOR, RunText, unit_width, wrap

# Text is wrapped to this share of the box width: the margin absorbs renderers' rounding.
WIDTH_SAFETY = 0.97
ELLIPSIS = "…"
T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    """Font sizes to try, largest first, in whole points."""

    largest: float
    smallest: float

    def steps(self) -> list[float]:
        sizes: list[float] = []
        size = self.largest
        while size >= self.smallest - 1e-9:
            sizes.append(size)
            size -= 1
        return sizes


@dataclass(frozen=True)
class ParaSpec:
    runs: tuple[Run, ...]
    bullet: bool = False
    hanging: bool = False  # indented like a bullet's text, without the bullet

    @property
    def indented(self) -> bool:
        return self.bullet or self.hanging


@dataclass(frozen=True)
class BoxSpec:
    """Everything about a text box but its font size."""

    role: str
    rect: Rect
    inset: float = 4.0
    align: Align = "left"
    anchor: Anchor = "top"
    placeholder: PlaceholderRole | None = None
    gap_factor: float = 0.45  # space before each paragraph but the first, in font sizes
    bullet_color: str | None = None


def indent_for(size: float) -> float:
    return round(size * 1.1, 1)


def set_text(spec: BoxSpec, paras: Sequence[ParaSpec], size: float) -> TextBox:
    """The box with `paras` wrapped at `size` (fitting or not)."""
    indent = indent_for(size) if any(p.indented for p in paras) else 0.0
    width = (spec.rect.w - 2 * spec.inset) * WIDTH_SAFETY
    set_paras = tuple(
        Paragraph(
            p.runs,
            p.bullet,
            tuple(
                wrap(
                    [RunText(r.text, r.style.face) for r in p.runs],
                    size,
                    width - (indent if p.indented else 0.0),
                )
            ),
            p.hanging,
        )
        for p in paras
    )
    return TextBox(
        role=spec.role,
        rect=spec.rect,
        paragraphs=set_paras,
        size=size,
        line_height=round(size * LINE_FACTOR, 2),
        paragraph_gap=round(size * spec.gap_factor, 2),
        indent=indent,
        inset=spec.inset,
        align=spec.align,
        anchor=spec.anchor,
        placeholder=spec.placeholder,
        bullet_color=spec.bullet_color,
    )


def fits(box: TextBox) -> bool:
    return box.text_height() <= box.rect.h - 2 * box.inset + 1e-6


def largest(sizes: Sizes, attempt: Callable[[float], T | None]) -> T | None:
    """`attempt` at the largest size of `sizes` at which it succeeds, or None. Text wrapped
    smaller never needs more room, so the sizes are searched by halving."""
    steps = sizes.steps()
    found = attempt(steps[0])
    if found is not None or len(steps) == 1:
        return found
    smallest = attempt(steps[-1])
    if smallest is None:
        return None
    low, high = 0, len(steps) - 1  # steps[low] fails, steps[high] succeeds
    while high - low > 1:
        middle = (low + high) // 2
        tried = attempt(steps[middle])
        if tried is None:
            low = middle
        else:
            high, smallest = middle, tried
    return smallest


def fit_text(spec: BoxSpec, paras: Sequence[ParaSpec], sizes: Sizes) -> TextBox | None:
    """The box at the largest size of `sizes` whose text fits, or None."""

    def attempt(size: float) -> TextBox | None:
        box = set_text(spec, paras, size)
        return box if fits(box) else None

    return largest(sizes, attempt)


def fit_or_truncate(spec: BoxSpec, paras: Sequence[ParaSpec], sizes: Sizes) -> TextBox:
    """Like `fit_text`, but text that does not fit at the smallest size is cut at a word and
    ends with an ellipsis (for text with nowhere to continue: titles, subtitles)."""
    box = fit_text(spec, paras, sizes)
    if box is not None:
        return box
    size = sizes.smallest
    kept: list[ParaSpec] = []
    for para in paras:
        trial = set_text(spec, [*kept, para], size)
        if fits(trial):
            kept.append(para)
            continue
        words = " ".join(r.text for r in para.runs).split()
        style = para.runs[0].style
        low, high = 0, len(words)
        while low < high:  # the most words that fit with an ellipsis
            mid = (low + high + 1) // 2
            cut = replace(para, runs=(Run(" ".join(words[:mid]) + ELLIPSIS, style),))
            if fits(set_text(spec, [*kept, cut], size)):
                low = mid
            else:
                high = mid - 1
        if low:
            kept.append(replace(para, runs=(Run(" ".join(words[:low]) + ELLIPSIS, style),)))
        break
    if not kept:  # not even one word: as many characters as fit
        first = paras[0]
        text = " ".join(r.text for r in first.runs)
        style = first.runs[0].style

        def head(count: int) -> list[ParaSpec]:
            return [replace(first, runs=(Run(text[:count].rstrip() + ELLIPSIS, style),))]

        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if fits(set_text(spec, head(mid), size)):
                low = mid
            else:
                high = mid - 1
        if low == 0:  # a box lower than one line: draw nothing rather than overflow
            return set_text(spec, [ParaSpec((Run("", style),))], size)
        kept = head(low)
    return set_text(spec, kept, size)


def _cell_width(text: str, face: str, size: float) -> tuple[float, float]:
    """(width of the whole text, width of its longest word) at `size`."""
    words = text.split() or [""]
    return unit_width(text, face) * size, max(unit_width(w, face) * size for w in words)


def column_widths(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    header: str,
    body: str,
    size: float,
    width: float,
    padding: float,
) -> list[float]:
    """Columns share `width` by their text's natural widths; none narrower than its longest
    word (as far as the width allows) and the whole width used."""
    count = len(columns)
    natural = [0.0] * count
    longest = [0.0] * count
    for r, row in enumerate([columns, *rows]):
        face = header if r == 0 else body
        for c in range(count):
            whole, word = _cell_width(row[c] if c < len(row) else "", face, size)
            natural[c] = max(natural[c], whole + 2 * padding)
            longest[c] = max(longest[c], word / WIDTH_SAFETY + 2 * padding)
    total = sum(natural) or 1.0
    if total <= width:  # room to spare: shared evenly, so long columns do not balloon
        return [n + (width - total) / count for n in natural]
    fair = width / count
    floor = [min(w, fair) for w in longest]
    widths = [max(floor[c], width * natural[c] / total) for c in range(count)]
    for _ in range(count):  # give back what the floors took, from the columns above them
        excess = sum(widths) - width
        flexible = [c for c in range(count) if widths[c] > floor[c] + 1e-6]
        if excess <= 1e-6 or not flexible:
            break
        room = sum(widths[c] - floor[c] for c in flexible)
        for c in flexible:
            widths[c] -= excess * (widths[c] - floor[c]) / room
    return widths


def set_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    rect: Rect,
    size: float,
    template: TableBox,
) -> TableBox:
    """The table at `size`: column widths, wrapped cells and row heights (fitting or not)."""
    padding = round(max(3.0, size * 0.4), 1)
    widths = column_widths(
        columns, rows, template.header.face, template.body.face, size, rect.w, padding
    )
    line_height = round(size * LINE_FACTOR, 2)
    cells: list[tuple[Cell, ...]] = []
    heights: list[float] = []
    for r, row in enumerate([list(columns), *[list(x) for x in rows]]):
        face = template.header.face if r == 0 else template.body.face
        line: list[Cell] = []
        for c, width in enumerate(widths):
            text = " ".join((row[c] if c < len(row) else "").split())
            wrapped = wrap([RunText(text, face)], size, (width - 2 * padding) * WIDTH_SAFETY)
            line.append(Cell(text, tuple(wrapped)))
        cells.append(tuple(line))
        heights.append(max(len(cell.lines) for cell in line) * line_height + 2 * padding)
    height = sum(heights)
    return replace(
        template,
        rect=Rect(rect.x, rect.y, rect.w, height),
        column_widths=tuple(widths),
        row_heights=tuple(heights),
        cells=tuple(cells),
        size=size,
        line_height=line_height,
        padding=padding,
    )


def fit_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    rect: Rect,
    sizes: Sizes,
    template: TableBox,
) -> tuple[TableBox, int]:
    """The table at the largest size at which it fits in `rect`, and how many body rows it
    holds: all, or at the smallest size as many as fit (at least one; the rest continue)."""
    for size in sizes.steps():  # first without breaking words, then at the smallest size
        table = set_table(columns, rows, rect, size, template)
        if table.rect.h <= rect.h + 1e-6 and not _breaks_words(table):
            return table, len(rows)
    table = set_table(columns, rows, rect, sizes.smallest, template)
    if table.rect.h <= rect.h + 1e-6:
        return table, len(rows)

    def most(chunk: Sequence[Sequence[str]]) -> int:
        count = len(chunk)
        while count > 1:
            if set_table(columns, chunk[:count], rect, sizes.smallest, template).rect.h <= (
                rect.h + 1e-6
            ):
                break
            count -= 1
        return count

    count = most(rows)
    slides, left = 1, rows[count:]
    while left:
        slides, left = slides + 1, left[most(left) :]
    count = min(count, -(-len(rows) // slides))  # continuation slides come out even
    for size in sizes.steps():
        table = set_table(columns, rows[:count], rect, size, template)
        if table.rect.h <= rect.h + 1e-6 and (size == sizes.smallest or not _breaks_words(table)):
            return table, count
    return set_table(columns, rows[:count], rect, sizes.smallest, template), count


def _breaks_words(table: TableBox) -> bool:
    """Whether a cell has a word wider than its column (drawn broken between characters)."""
    for r, row in enumerate(table.cells):
        face = table.header.face if r == 0 else table.body.face
        for cell, width in zip(row, table.column_widths, strict=True):
            room = (width - 2 * table.padding) * WIDTH_SAFETY
            if any(unit_width(w, face) * table.size > room for w in cell.text.split()):
                return True
    return False
