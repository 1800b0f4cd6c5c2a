"""PDF with pypdfium2 (PDFium, Apache-2.0/BSD): text per page, headings from the outline."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import pypdfium2  # type: ignore[import-untyped]

from parmenid.knowledge.parsers import (
    DocumentKind,
    HeadingStack,
    Location,
    ParsedDocument,
    ParseError,
    ParseLimits,
    SegmentSink,
)

# PDFium is not thread-safe and parsers run in worker threads: one document at a time.
PDFIUM_LOCK = threading.Lock()
_ERR_FORMAT = 3
_ERR_PASSWORD = 4
_ERR_SECURITY = 5
_MAX_OUTLINE_ITEMS = 10_000


@dataclass(frozen=True, slots=True)
class _Heading:
    page_index: int
    title: str
    path: tuple[str, ...]


def parse_pdf(data: bytes, limits: ParseLimits) -> ParsedDocument:
    with PDFIUM_LOCK:
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code in (_ERR_PASSWORD, _ERR_SECURITY):
                raise ParseError(
                    "password_protected",
                    "The PDF is password-protected; remove the password and upload it again.",
                ) from exc
            detail = "damaged or truncated" if code == _ERR_FORMAT else "cannot be opened"
            raise ParseError("corrupt", f"The file is not a valid PDF ({detail}).") from exc
        try:
            return _extract(document, limits)
        finally:
            document.close()


def _extract(document: pypdfium2.PdfDocument, limits: ParseLimits) -> ParsedDocument:
    page_count = len(document)
    if page_count > limits.max_pages:
        raise ParseError(
            "too_many_pages",
            f"The document has {page_count} pages; the limit is {limits.max_pages}.",
        )
    by_page: dict[int, list[_Heading]] = {}
    for heading in _outline(document):
        by_page.setdefault(heading.page_index, []).append(heading)

    sink = SegmentSink(limits)
    path: tuple[str, ...] = ()
    for index in range(page_count):
        text = _page_text(document, index)
        position = 0
        for heading in by_page.get(index, []):
            found = _find_title(text, heading.title, position)
            if found is not None:
                sink.add(text[position:found], Location(page=index + 1, heading_path=path))
                position = found
            path = heading.path
        sink.add(text[position:], Location(page=index + 1, heading_path=path))

    title = (document.get_metadata_value("Title") or "").strip() or None
    return ParsedDocument(
        kind=DocumentKind.PDF, title=title, segments=sink.segments, page_count=page_count
    )


def _page_text(document: pypdfium2.PdfDocument, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _outline(document: pypdfium2.PdfDocument) -> list[_Heading]:
    """Bookmarks in document order, each with its page and full heading path.

    Bookmarks that point nowhere still shape the path of their children.
    """
    headings: list[_Heading] = []
    stack = HeadingStack()
    try:
        for count, item in enumerate(document.get_toc()):
            if count >= _MAX_OUTLINE_ITEMS:
                break
            title = " ".join((item.get_title() or "").split())
            if not title:
                continue
            stack.push(int(item.level) + 1, title)
            destination = item.get_dest()
            page_index = destination.get_index() if destination is not None else None
            if page_index is not None:
                headings.append(_Heading(int(page_index), title, stack.path))
    except pypdfium2.PdfiumError:
        return headings  # a broken outline is not a reason to refuse the text
    headings.sort(key=lambda heading: heading.page_index)  # stable: keeps order within a page
    return headings


def _find_title(text: str, title: str, start: int) -> int | None:
    """Where a bookmark's title starts in the page text, tolerant of line breaks and hyphens."""
    words = title.split()
    if not words:
        return None
    pattern = r"[\s\-\u00ad\ufffe]*".join(re.escape(word) for word in words)
    match = re.search(pattern, text[start:])
    return start + match.start() if match else None
