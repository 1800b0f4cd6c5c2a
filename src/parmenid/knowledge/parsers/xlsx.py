"""XLSX with openpyxl (read-only, cached values): rows as text in blocks with cell ranges."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from parmenid.knowledge.parsers import (
    DocumentKind,
    Location,
    ParsedDocument,
    ParseLimits,
    SegmentSink,
)

ROWS_PER_SEGMENT = 50
_PLAIN_SHEET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def parse_xlsx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """One segment per block of up to ``ROWS_PER_SEGMENT`` non-empty rows of a sheet.

    Cells are joined with `` | ``; the cell range spans the block's first to last row and the
    columns that hold values. Formulas give their cached value (what Excel last showed).
    """
    workbook = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True)
    try:
        sink = SegmentSink(limits)
        sheets = list(workbook.worksheets)
        for sheet in sheets:
            _read_sheet(sheet, sink)
        title = (workbook.properties.title or "").strip() or None
    finally:
        workbook.close()
    return ParsedDocument(
        kind=DocumentKind.XLSX, title=title, segments=sink.segments, page_count=len(sheets)
    )


def _read_sheet(sheet: Any, sink: SegmentSink) -> None:
    """Reads cells with their own coordinates: a sheet's stored dimensions may be missing or
    wrong (many writers omit them), so positions are never inferred from iteration order."""
    name = str(sheet.title)
    block: list[dict[int, str]] = []
    first_row = last_row = 0

    def flush() -> None:
        if not block:
            return
        min_col = min(min(row) for row in block)
        max_col = max(max(row) for row in block)
        lines = [
            " | ".join(row.get(column, "") for column in range(min_col, max(row) + 1))
            for row in block
        ]
        cell_range = (
            f"{sheet_ref(name)}!{get_column_letter(min_col)}{first_row}"
            f":{get_column_letter(max_col)}{last_row}"
        )
        sink.add("\n".join(lines), Location(sheet=name, cell_range=cell_range))
        block.clear()

    for row in sheet.iter_rows():
        cells: dict[int, str] = {}
        row_number = 0
        for cell in row:
            text = _cell_text(getattr(cell, "value", None))
            if text:
                cells[int(cell.column)] = text
                row_number = int(cell.row)
        if not cells:
            continue
        if block and (
            len(block) >= ROWS_PER_SEGMENT or row_number - first_row >= 10 * ROWS_PER_SEGMENT
        ):
            flush()
        if not block:
            first_row = row_number
        last_row = row_number
        block.append(cells)
    flush()


def sheet_ref(name: str) -> str:
    """A sheet name as Excel writes it in a reference: quoted unless it is a plain word."""
    if _PLAIN_SHEET_NAME.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())
