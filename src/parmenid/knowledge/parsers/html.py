"""HTML with selectolax (Lexbor): main content only, heading paths from h1..h6."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parmenid.knowledge.parsers import (
    DocumentKind,
    HeadingStack,
    Location,
    ParsedDocument,
    ParseLimits,
    SegmentSink,
)
from parmenid.knowledge.parsers.text import decode_text

# Page furniture and non-content elements, dropped before extraction.
_BOILERPLATE = (
    "script, style, noscript, template, nav, header, footer, aside, form, iframe, svg, canvas, "
    "button, select, [role=navigation], [role=banner], [role=contentinfo], [role=complementary], "
    "[aria-hidden=true], [hidden]"
)
_MAIN = ("main", "[role=main]", "article")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = frozenset(
    {
        *("p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd"),
        *("blockquote", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr"),
        *("caption", "details", "summary", "address", "hr", "body", "center"),
    }
)
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def parse_html(data: bytes, limits: ParseLimits) -> ParsedDocument:
    tree = LexborHTMLParser(decode_text(data))
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node is not None else ""
    root = _main_content(tree)
    extractor = _Extractor(SegmentSink(limits))
    if root is not None:
        extractor.walk(root)
        extractor.flush()
    return ParsedDocument(
        kind=DocumentKind.HTML, title=title or None, segments=extractor.sink.segments
    )


def _main_content(tree: LexborHTMLParser) -> LexborNode | None:
    """The ``<main>``/``<article>`` element when the page has one, else the body, cleaned."""
    root: LexborNode | None = tree.body
    for selector in _MAIN:
        candidates = tree.css(selector)
        if candidates:
            root = max(candidates, key=lambda node: len(node.text(strip=True)))
            break
    if root is None:
        return None
    for node in root.css(_BOILERPLATE):
        node.decompose()
    return root


class _Extractor:
    """Walks the tree in order, cutting text into blocks at block elements and headings."""

    def __init__(self, sink: SegmentSink) -> None:
        self.sink = sink
        self.headings = HeadingStack()
        self.buffer: list[str] = []

    def flush(self) -> None:
        lines = (_SPACES.sub(" ", line).strip() for line in "".join(self.buffer).split("\n"))
        self.sink.add("\n".join(line for line in lines if line), self._location())
        self.buffer.clear()

    def _location(self) -> Location:
        return Location(heading_path=self.headings.path)

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if tag == "-text":
                self.buffer.append((child.text(deep=False) or "").replace("\n", " "))
            elif tag in _HEADINGS:
                self.flush()
                text = " ".join(child.text(separator=" ").split())
                if text:
                    self.headings.push(_HEADINGS[tag], text)
            elif tag == "pre":
                self.flush()
                self.sink.add(child.text(deep=True), self._location())
            elif tag == "br":
                self.buffer.append("\n")
            elif tag in _CELLS:
                self.buffer.append(" | " if self.buffer and self.buffer[-1] != "\n" else "")
                self.walk(child)
            elif tag == "tr":
                self.walk(child)
                self.buffer.append("\n")
            elif tag in _BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            elif not tag.startswith(("-", "_")):
                self.walk(child)
