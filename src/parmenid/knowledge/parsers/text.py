"""Plain text and Markdown: decoding, paragraphs and Markdown heading paths."""

from __future__ import annotations

import codecs
import re

from parmenid.knowledge.parsers import (
    DocumentKind,
    HeadingStack,
    Location,
    ParsedDocument,
    ParseError,
    ParseLimits,
    SegmentSink,
)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def decode_text(data: bytes) -> str:
    """Decode text bytes: a BOM wins, then UTF-8, then Windows-1251 (common for Russian files).

    Raises ``unsupported`` when the bytes are binary rather than text.
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                text = None
            break
    if text is None and b"\x00" not in data[:65536]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1251", errors="replace")
    if text is None or len(_CONTROL.findall(text[:65536])) > max(2, len(text[:65536]) // 200):
        raise ParseError(
            "unsupported",
            "The file type is not supported; upload a PDF, DOCX, PPTX, XLSX, HTML, Markdown "
            "or plain text file.",
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_text(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Plain text: one segment per paragraph (paragraphs are separated by blank lines)."""
    sink = SegmentSink(limits)
    for paragraph in _BLANK_LINES.split(decode_text(data)):
        sink.add(paragraph, Location())
    return ParsedDocument(kind=DocumentKind.TEXT, title=None, segments=sink.segments)


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def parse_markdown(data: bytes, limits: ParseLimits) -> ParsedDocument:
    """Markdown: paragraphs and code blocks, each under the path of ATX/setext headings above it.

    Code blocks are kept verbatim (fence lines dropped) so code can be found and quoted.
    """
    sink = SegmentSink(limits)
    headings = HeadingStack()
    title: str | None = None
    block: list[str] = []

    def flush() -> None:
        sink.add("\n".join(block), Location(heading_path=headings.path))
        block.clear()

    def heading(level: int, text: str) -> None:
        nonlocal title
        flush()
        text = text.strip()
        if text:
            headings.push(level, text)
            if level == 1 and title is None:
                title = text

    fence: str | None = None
    for line in decode_text(data).split("\n"):
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
                flush()
            else:
                block.append(line)
            continue
        if match := _FENCE.match(line):
            flush()
            fence = match.group(1)
            continue
        if match := _ATX.match(line):
            heading(len(match.group(1)), match.group(2) or "")
            continue
        if (
            len(block) == 1
            and (match := _SETEXT.match(line))
            and not block[0].startswith((" ", "\t"))
        ):
            text = block.pop()
            heading(1 if match.group(1).startswith("=") else 2, text)
            continue
        if not line.strip():
            flush()
            continue
        block.append(line)
    flush()
    return ParsedDocument(kind=DocumentKind.MARKDOWN, title=title, segments=sink.segments)
