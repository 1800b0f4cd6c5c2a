"""Tables and charts from tabular sources: a spreadsheet passage becomes a slide's data.

Spreadsheet chunks are rows of cells joined by " | " (see `knowledge.parsers.xlsx`). A slide
whose material is such a chunk gets its rows as a table, or a chart when the table has one label
column and numeric columns that measure something:

* a numeric column is one whose non-empty cells all read as numbers ("1 234,5", "12%", "$3.2");
* identifier-like columns are not plotted: a header such as "id", "No", "№", "number", "#",
  whole numbers that simply count up (1, 2, 3, …), or a first column of distinct whole numbers
  (a key, such as a document number);
* at most 12 categories (the first rows) and 4 series; fewer than 2 categories is no chart.

Nothing is computed that the source does not state: values are plotted as they are, never summed
or averaged across rows, because a chunk holds only part of a sheet.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

MAX_ROWS = 12
MAX_TABLE_COLUMNS = 6
MAX_SERIES = 4
CELL = " | "
_ID_HEADER = re.compile(r"^(id|no\.?|№|#|n|num|number|номер|код|code)$", re.IGNORECASE)
_NUMBER = re.compile(
    r"^[-+]?[$€£₽]?\s*\d{1,3}(?:(?:[\s\u00a0]\d{3})+|(?:,\d{3})+)?(?:[.,]\d+)?\s*[%₽$€£]?$"
    r"|^[-+]?[$€£₽]?\s*\d+(?:[.,]\d+)?\s*[%₽$€£]?$"
)


def number(cell: str) -> float | None:
    """The number a cell states, or None ("1 234,5" → 1234.5, "12%" → 12.0)."""
    text = cell.strip()
    if not text or not _NUMBER.match(text):
        return None
    digits = re.sub(r"[^\d,.\-+]", "", text)
    if "." in digits:  # "1,234.5": commas group thousands
        digits = digits.replace(",", "")
    elif digits.count(",") == 1 and len(digits.rsplit(",", 1)[1]) != 3:  # "1234,5"
        digits = digits.replace(",", ".")
    else:  # "1,234" or "1,234,567"
        digits = digits.replace(",", "")
    try:
        return float(digits)
    except ValueError:
        return None


def table_of(text: str) -> dict[str, Any] | None:
    """`{"columns", "rows"}` when `text` is rows of " | "-joined cells (a header and at least
    two rows of the same width), else None."""
    lines = [line for line in text.splitlines() if CELL in line]
    if len(lines) < 3:
        return None
    rows = [[cell.strip() for cell in line.split(CELL)] for line in lines]
    width = max(set(map(len, rows)), key=[len(r) for r in rows].count)
    if width < 2:
        return None
    shaped = [r[:width] + [""] * (width - len(r)) for r in rows if len(r) >= width - 1]
    if len(shaped) < 3:
        return None
    keep = min(width, MAX_TABLE_COLUMNS)
    return {
        "columns": shaped[0][:keep],
        "rows": [r[:keep] for r in shaped[1 : MAX_ROWS + 1]],
    }


def _counts_up(values: list[float]) -> bool:
    return all(v.is_integer() for v in values) and all(
        b - a == 1 for a, b in itertools.pairwise(values)
    )


def chart_of(table: dict[str, Any], title: str = "") -> dict[str, Any] | None:
    """A column chart of the table's measured columns against its label column, or None."""
    columns: list[str] = table["columns"]
    rows: list[list[str]] = table["rows"]
    if len(rows) < 2:
        return None
    numeric: list[int] = []
    labels: int | None = None
    for index, header in enumerate(columns):
        cells = [row[index] for row in rows if index < len(row) and row[index]]
        values = [number(cell) for cell in cells]
        if cells and all(v is not None for v in values):
            measured = [v for v in values if v is not None]
            key = index == 0 and all(v.is_integer() for v in measured)
            key = key and len(set(measured)) == len(measured)
            if not (_ID_HEADER.match(header.strip()) or _counts_up(measured) or key):
                numeric.append(index)
        elif labels is None and cells:
            labels = index
    if labels is None or not numeric:
        return None
    series = [
        {"name": columns[i], "values": [number(row[i]) or 0.0 for row in rows]}
        for i in numeric[:MAX_SERIES]
    ]
    return {
        "kind": "column",
        "title": title,
        "categories": [row[labels] for row in rows],
        "series": series,
    }


def layout_data(text: str, title: str, source: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """("chart" | "table", layout data citing `source`) for a tabular passage; ("", {}) when
    the passage is not a table."""
    table = table_of(text)
    if table is None:
        return "", {}
    chart = chart_of(table, title)
    if chart is not None:
        return "chart", {"chart": chart, "source": source}
    return "table", {"table": table, "source": source}
