"""Document parsers: bytes in, text segments with citable locations out.

The format is chosen by content sniffing (magic bytes, zip part names, leading markup), never by
file name. Every parser keeps where each piece of text came from (page, slide, sheet and cell
range, heading path) so answers can cite it. Failures are :class:`ParseError` with a stable
``code`` and a ``reason`` written for the person who uploaded the file.

``parse_document`` is synchronous and CPU-bound; async callers use ``parse_document_async``,
which runs it in a worker thread under ``ParseLimits.timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import enum
import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from typing import Literal

__all__ = [
    "DocumentKind",
    "Location",
    "ParseError",
    "ParseErrorCode",
    "ParseLimits",
    "ParsedDocument",
    "Segment",
    "parse_document",
    "parse_document_async",
    "sniff",
]

MiB = 1024 * 1024

ParseErrorCode = Literal[
    "password_protected",
    "corrupt",
    "too_large",
    "too_many_pages",
    "zip_bomb",
    "unsupported",
    "timeout",
    "empty",
]


class ParseError(Exception):
    """A document could not be parsed; ``reason`` can be shown to the uploader as-is."""

    def __init__(self, code: ParseErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code: ParseErrorCode = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"ParseError(code={self.code!r}, reason={self.reason!r})"


class DocumentKind(enum.StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"


_KIND_NAMES = {
    DocumentKind.PDF: "PDF",
    DocumentKind.DOCX: "DOCX",
    DocumentKind.PPTX: "PPTX",
    DocumentKind.XLSX: "XLSX",
    DocumentKind.HTML: "HTML",
    DocumentKind.MARKDOWN: "Markdown",
    DocumentKind.TEXT: "text",
}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a segment sits in its document; ``label()`` renders it for a citation."""

    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    cell_range: str | None = None
    """A full reference including the sheet, e.g. ``Sheet1!A1:F50``."""
    heading_path: tuple[str, ...] = ()

    def label(self) -> str:
        """A short human citation, e.g. ``p. 3, § Introduction › Motivation``."""
        parts: list[str] = []
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.slide is not None:
            parts.append(f"slide {self.slide}")
        if self.cell_range is not None:
            parts.append(self.cell_range)
        elif self.sheet is not None:
            parts.append(self.sheet)
        if self.heading_path:
            parts.append("§ " + " › ".join(self.heading_path))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    location: Location


@dataclass(slots=True)
class ParsedDocument:
    kind: DocumentKind
    title: str | None
    segments: list[Segment]
    page_count: int | None = None
    """Pages for PDF, slides for PPTX, sheets for XLSX; ``None`` where the format has none."""
    language: str | None = None
    """A coarse hint from the letters used: ``"ru"``, ``"en"`` or ``None``."""

    @property
    def text(self) -> str:
        return "\n\n".join(segment.text for segment in self.segments)


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_bytes: int = 50 * MiB
    max_pages: int = 500
    """Applies to PDF pages and PPTX slides."""
    max_zip_entries: int = 10_000
    max_uncompressed_bytes: int = 200 * MiB
    max_compression_ratio: float = 100.0
    timeout_seconds: float = 60.0
    max_segments: int = 200_000
    """Guards memory against pathological inputs (e.g. a million tiny spreadsheet rows)."""


@dataclass(slots=True)
class SegmentSink:
    """Collects segments for a parser and enforces ``max_segments``."""

    limits: ParseLimits
    segments: list[Segment] = field(default_factory=list)

    def add(self, text: str, location: Location) -> None:
        text = text.strip()
        if not text:
            return
        if len(self.segments) >= self.limits.max_segments:
            raise ParseError(
                "too_large",
                f"The document has more than {self.limits.max_segments} text blocks; "
                "split it into smaller files.",
            )
        self.segments.append(Segment(text, location))


class HeadingStack:
    """Tracks the current heading path from headings of levels 1..n seen in document order."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, " ".join(title.split())))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)


# --- sniffing ---------------------------------------------------------------------------------

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML_MAIN_PARTS = {
    "word/document.xml": DocumentKind.DOCX,
    "ppt/presentation.xml": DocumentKind.PPTX,
    "xl/workbook.xml": DocumentKind.XLSX,
}
_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_ANYWHERE = re.compile(rb"<(html|body)\b[^>]*>", re.I)
_MD_ATX = re.compile(r"^#{1,6}[ \t]+\S", re.M)
_MD_FENCE = re.compile(r"^(```|~~~)", re.M)
_MD_SETEXT = re.compile(r"^\S[^\n]*\n(=+|-+)[ \t]*$", re.M)
_MD_LINK = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)")


def sniff(data: bytes) -> DocumentKind:
    """Decide the format from the content alone.

    Raises :class:`ParseError` (``empty``, ``password_protected``, ``corrupt`` or
    ``unsupported``) when the bytes are none of the supported formats.
    """
    if not data.strip():
        raise ParseError("empty", "The file is empty.")
    # PDF readers accept a header anywhere in the first KiB.
    if b"%PDF-" in data[:1024]:
        return DocumentKind.PDF
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if data.startswith(_CFB_MAGIC):
        # Password-protected OOXML files are stored in an OLE container with these streams.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise ParseError(
                "password_protected",
                "The document is password-protected; remove the password and upload it again.",
            )
        raise ParseError(
            "unsupported",
            "Legacy Office files (.doc, .xls, .ppt) are not supported; save the file as "
            "DOCX, XLSX or PPTX and upload it again.",
        )
    from parmenid.knowledge.parsers.text import decode_text

    text = decode_text(data)  # raises "unsupported" for binary data
    head = text[:4096].encode("utf-8", "replace")
    if _HTML_START.match(head) or (head.lstrip().startswith(b"<") and _HTML_ANYWHERE.search(head)):
        return DocumentKind.HTML
    if _looks_like_markdown(text):
        return DocumentKind.MARKDOWN
    return DocumentKind.TEXT


def _sniff_zip(data: bytes) -> DocumentKind:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        # Local file headers keep part names in the clear, so a damaged archive can still be named.
        for part, kind in _OOXML_MAIN_PARTS.items():
            if part.encode() in data:
                raise ParseError(
                    "corrupt", f"The file is not a valid {_KIND_NAMES[kind]} (corrupt zip)."
                ) from exc
        raise ParseError("corrupt", "The file is a damaged zip archive.") from exc
    if "[Content_Types].xml" in names:
        for part, kind in _OOXML_MAIN_PARTS.items():
            if part in names:
                return kind
    raise ParseError(
        "unsupported",
        "The file is a zip archive but not a DOCX, PPTX or XLSX document.",
    )


def _looks_like_markdown(text: str) -> bool:
    sample = text[:100_000]
    headings = len(_MD_ATX.findall(sample))
    if headings and sample.lstrip().startswith("#"):
        return True
    score = (
        2 * headings
        + 2 * len(_MD_FENCE.findall(sample))
        + len(_MD_SETEXT.findall(sample))
        + len(_MD_LINK.findall(sample))
    )
    return score >= 3


# --- parsing ----------------------------------------------------------------------------------


def parse_document(
    data: bytes, *, filename: str | None = None, limits: ParseLimits = ParseLimits()
) -> ParsedDocument:
    """Parse a document of any supported kind.

    ``filename`` is never used to choose the format; it is only a fallback for the title.
    """
    if len(data) > limits.max_bytes:
        raise ParseError(
            "too_large",
            f"The file is {_mib(len(data))}; the limit is {_mib(limits.max_bytes)}.",
        )
    kind = sniff(data)
    try:
        document = _dispatch(kind, data, limits)
    except ParseError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise ParseError("too_large", "The document is too complex to process.") from exc
    except Exception as exc:  # every library has its own error types for broken input
        raise ParseError(
            "corrupt", f"The file is not a valid {_KIND_NAMES[kind]} ({_describe(exc)})."
        ) from exc
    if not any(segment.text.strip() for segment in document.segments):
        hint = " (a scanned PDF? text recognition is not supported)" if kind == "pdf" else ""
        raise ParseError("empty", f"No text was found in the document{hint}.")
    if document.title is None and filename:
        stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0].strip()
        document.title = stem or None
    document.language = detect_language(document.text[:200_000])
    return document


async def parse_document_async(
    data: bytes, *, filename: str | None = None, limits: ParseLimits = ParseLimits()
) -> ParsedDocument:
    """Run :func:`parse_document` in a worker thread, failing with ``timeout`` after the limit.

    A thread cannot be killed: on timeout the worker finishes (or fails) in the background and
    its result is discarded. The size, page and zip limits keep that work bounded.
    """
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(parse_document, data, filename=filename, limits=limits),
            timeout=limits.timeout_seconds,
        )
    except TimeoutError as exc:
        raise ParseError(
            "timeout",
            f"Reading the document took longer than {limits.timeout_seconds:g} seconds; "
            "try a smaller or simpler file.",
        ) from exc


def _dispatch(kind: DocumentKind, data: bytes, limits: ParseLimits) -> ParsedDocument:
    # Imported lazily: the format modules import the types defined above.
    if kind is DocumentKind.PDF:
        from parmenid.knowledge.parsers.pdf import parse_pdf

        return parse_pdf(data, limits)
    if kind in (DocumentKind.DOCX, DocumentKind.PPTX, DocumentKind.XLSX):
        from parmenid.knowledge.parsers.ooxml import check_archive

        check_archive(data, limits)
    if kind is DocumentKind.DOCX:
        from parmenid.knowledge.parsers.docx import parse_docx

        return parse_docx(data, limits)
    if kind is DocumentKind.PPTX:
        from parmenid.knowledge.parsers.pptx import parse_pptx

        return parse_pptx(data, limits)
    if kind is DocumentKind.XLSX:
        from parmenid.knowledge.parsers.xlsx import parse_xlsx

        return parse_xlsx(data, limits)
    if kind is DocumentKind.HTML:
        from parmenid.knowledge.parsers.html import parse_html

        return parse_html(data, limits)
    from parmenid.knowledge.parsers.text import parse_markdown, parse_text

    if kind is DocumentKind.MARKDOWN:
        return parse_markdown(data, limits)
    return parse_text(data, limits)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """``"ru"`` or ``"en"`` by which alphabet dominates; ``None`` when there are few letters."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic + latin < 20:
        return None
    return "ru" if cyrillic >= latin else "en"


def _mib(size: int) -> str:
    if size < MiB:
        return f"{size // 1024} KiB" if size >= 1024 else f"{size} bytes"
    value = size / MiB
    return f"{value:.0f} MiB" if value >= 10 or value == int(value) else f"{value:.1f} MiB"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return "corrupt zip"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(message) > 120:
        message = message[:117] + "..."
    return message or type(exc).__name__
