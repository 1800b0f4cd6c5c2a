"""PPTX with python-pptx: per slide its title, the text of its shapes and its speaker notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from io import BytesIO

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape

from parmenid.knowledge.parsers import (
    DocumentKind,
    Location,
    ParsedDocument,
    ParseError,
    ParseLimits,
    SegmentSink,
)


def parse_pptx(data: bytes, limits: ParseLimits) -> ParsedDocument:
    presentation = pptx.Presentation(BytesIO(data))
    slides = list(presentation.slides)
    if len(slides) > limits.max_pages:
        raise ParseError(
            "too_many_pages",
            f"The presentation has {len(slides)} slides; the limit is {limits.max_pages}.",
        )
    sink = SegmentSink(limits)
    document_title = (presentation.core_properties.title or "").strip() or None
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        lines = [title] if title else []
        for shape in _walk(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            lines.extend(_shape_lines(shape))
        if slide.has_notes_slide:
            notes_frame = slide.notes_slide.notes_text_frame
            notes = notes_frame.text.strip() if notes_frame is not None else ""
            if notes:
                lines.append(f"Notes: {notes}")
        sink.add("\n".join(lines), Location(slide=number, heading_path=(title,) if title else ()))
        if document_title is None and number == 1 and title:
            document_title = title
    return ParsedDocument(
        kind=DocumentKind.PPTX,
        title=document_title,
        segments=sink.segments,
        page_count=len(slides),
    )


def _walk(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP and isinstance(shape, GroupShape):
            yield from _walk(shape.shapes)
        else:
            yield shape


def _shape_lines(shape: BaseShape) -> list[str]:
    lines: list[str] = []
    if shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
            text = " ".join(paragraph.text.split())
            if text:
                lines.append(("  " * paragraph.level) + "- " + text)
    elif isinstance(shape, GraphicFrame) and shape.has_table:
        for row in shape.table.rows:
            cells = [" ".join(cell.text.split()) for cell in row.cells]
            if any(cells):
                lines.append(" | ".join(cells))
    return lines
