"""DOCX with python-docx: paragraphs under their Heading 1..n path, tables as text rows."""

from __future__ import annotations

import re
from io import BytesIO

import docx
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from parmenid.knowledge.parsers import (
    DocumentKind,
    HeadingStack,
    Location,
    ParsedDocument,
    ParseLimits,
    SegmentSink,
)

_HEADING_STYLE = re.compile(r"^heading\s+(\d)$", re.I)


def parse_docx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    document: Document = docx.Document(BytesIO(data))
    sink = SegmentSink(limits)
    headings = HeadingStack()
    title = (document.core_properties.title or "").strip() or None

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            sink.add(_table_text(block), Location(heading_path=headings.path))
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block)
        if level == 0:
            title = title or " ".join(text.split())
            continue
        if level is not None:
            headings.push(level, text)
            continue
        sink.add(text, Location(heading_path=headings.path))
    return ParsedDocument(kind=DocumentKind.DOCX, title=title, segments=sink.segments)


def _heading_level(paragraph: Paragraph) -> int | None:
    """0 for the Title style, 1..9 for Heading styles (names are stored in English)."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    return int(match.group(1)) if match else None


def _table_text(table: Table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # Merged cells are reported once per grid column; keep one copy.
            if not cells or cells[-1] != text:
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
