"""Document parsers on the shared sample documents and on hostile or broken inputs."""

from __future__ import annotations

import asyncio
import io
import random
import time
import zipfile
from pathlib import Path

import docx
import openpyxl  # type: ignore[import-untyped]
import pypdfium2  # type: ignore[import-untyped]
import pytest

from parmenid.knowledge.parsers import (
    DocumentKind,
    Location,
    ParsedDocument,
    ParseError,
    ParseLimits,
    parse_document,
    parse_document_async,
    sniff,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
MiB = 1024 * 1024


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def parse_sample(name: str, **kwargs: object) -> ParsedDocument:
    return parse_document(sample(name), filename=name, **kwargs)  # type: ignore[arg-type]


def paths(document: ParsedDocument) -> set[tuple[str, ...]]:
    return {segment.location.heading_path for segment in document.segments}


def segment_with(document: ParsedDocument, phrase: str) -> Location:
    for segment in document.segments:
        if phrase in segment.text:
            return segment.location
    raise AssertionError(f"{phrase!r} not found")


def docx_bytes(*blocks: tuple[str, str]) -> bytes:
    """A DOCX made with python-docx from (style, text) pairs."""
    document = docx.Document()
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def expect_error(code: str, data: bytes, **kwargs: object) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse_document(data, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value.reason
    assert caught.value.reason.endswith(".")
    assert str(caught.value) == caught.value.reason
    return caught.value


# --- sniffing ---------------------------------------------------------------------------------

KINDS = {
    "pep-0008.pdf": DocumentKind.PDF,
    "minimal-document.pdf": DocumentKind.PDF,
    "pdflatex-4-pages.pdf": DocumentKind.PDF,
    "pdflatex-outline.pdf": DocumentKind.PDF,
    "multicolumn.pdf": DocumentKind.PDF,
    "google-doc-document.pdf": DocumentKind.PDF,
    "libreoffice-writer-password.pdf": DocumentKind.PDF,
    "pep-0257.docx": DocumentKind.DOCX,
    "pep-0287.pptx": DocumentKind.PPTX,
    "pep-index.xlsx": DocumentKind.XLSX,
    "pep-0020.html": DocumentKind.HTML,
    "pep-0484.html": DocumentKind.HTML,
    "pep-0498.md": DocumentKind.MARKDOWN,
    "pep-0343.txt": DocumentKind.TEXT,
}


@pytest.mark.parametrize(("name", "kind"), KINDS.items())
def test_sniff_recognises_every_sample_by_content(name: str, kind: DocumentKind) -> None:
    assert sniff(sample(name)) is kind


@pytest.mark.parametrize(
    ("name", "misleading"),
    [("pep-0008.pdf", "x.docx"), ("pep-0257.docx", "notes.txt"), ("pep-0020.html", "a.pdf")],
)
def test_file_name_never_decides_the_format(name: str, misleading: str) -> None:
    document = parse_document(sample(name), filename=misleading)
    assert document.kind is KINDS[name]


# --- samples ----------------------------------------------------------------------------------


def test_pdf_text_per_page_with_outline_headings() -> None:
    document = parse_sample("pep-0008.pdf")
    assert document.kind is DocumentKind.PDF
    assert document.page_count == 27
    assert {segment.location.page for segment in document.segments} == set(range(1, 28))
    assert segment_with(document, "Style Guide for Python Code").page == 1
    assert ("Code Lay-out", "Indentation") in paths(document)
    location = segment_with(document, "Use 4 spaces per indentation level")
    assert location.heading_path == ("Code Lay-out", "Indentation")
    assert location.label() == f"p. {location.page}, § Code Lay-out › Indentation"
    assert document.language == "en"


def test_pdf_outline_without_nesting() -> None:
    document = parse_sample("pdflatex-outline.pdf")
    assert document.page_count == 4
    assert segment_with(document, "Contents").heading_path == ()
    assert {("Foo",), ("Bar",), ("Baz",)} <= paths(document)


@pytest.mark.parametrize(
    ("name", "phrase", "pages"),
    [
        ("minimal-document.pdf", "Lorem ipsum dolor sit amet", 1),
        ("pdflatex-4-pages.pdf", "Hello, here is some text without a meaning", 4),
        ("multicolumn.pdf", "Two-Column Document with Lorem Ipsum", 3),
        ("google-doc-document.pdf", "Beautiful is better than ugly.", 1),
    ],
)
def test_small_pdfs(name: str, phrase: str, pages: int) -> None:
    document = parse_sample(name)
    assert document.page_count == pages
    assert segment_with(document, phrase).page == 1
    assert max(segment.location.page or 0 for segment in document.segments) == pages


def test_docx_heading_paths() -> None:
    document = parse_sample("pep-0257.docx")
    assert document.kind is DocumentKind.DOCX
    assert "Docstring Conventions" in document.text
    assert segment_with(document, "This PEP documents the semantics").heading_path == ("Abstract",)
    assert ("Specification", "One-line Docstrings") in paths(document)
    assert ("Specification", "Multi-line Docstrings") in paths(document)


def test_docx_tables_become_rows() -> None:
    document = docx.Document()
    document.add_heading("Prices", level=1)
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Plan", "Price"), ("Pro", "10")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    parsed = parse_document(buffer.getvalue())
    assert parsed.segments[0].text == "Plan | Price\nPro | 10"
    assert parsed.segments[0].location.heading_path == ("Prices",)


def test_pptx_slides_with_titles_and_bullets() -> None:
    document = parse_sample("pep-0287.pptx")
    assert document.kind is DocumentKind.PPTX
    assert document.page_count == 11
    assert [segment.location.slide for segment in document.segments] == list(range(1, 12))
    abstract = document.segments[1]
    assert abstract.location.heading_path == ("Abstract",)
    assert abstract.location.label() == "slide 2, § Abstract"
    assert abstract.text.startswith("Abstract\n- ")
    assert "reStructuredText Docstring Format" in document.segments[0].text


def test_xlsx_sheets_and_cell_ranges() -> None:
    document = parse_sample("pep-index.xlsx")
    assert document.kind is DocumentKind.XLSX
    assert document.page_count == 2
    first = document.segments[0]
    assert first.location.sheet == "PEPs"
    assert first.location.cell_range == "PEPs!A1:F50"
    assert first.text.splitlines()[0] == "PEP | Title | Status | Type | Created | Python-Version"
    assert segment_with(document, "Style Guide for Python Code").cell_range == "PEPs!A1:F50"
    assert segment_with(document, "Cleaning out sys").cell_range == "PEPs!A701:F737"
    by_status = [s for s in document.segments if s.location.sheet == "By status"]
    assert [s.location.label() for s in by_status] == ["'By status'!A1:B10"]
    assert "Final | " in by_status[0].text


def test_xlsx_sparse_sheet_keeps_real_cell_positions() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Empty"
    sheet = workbook.create_sheet("Данные")
    sheet["C3"] = "Выручка"
    sheet["D60"] = 1.0
    sheet["B200"] = "Итого"
    buffer = io.BytesIO()
    workbook.save(buffer)
    document = parse_document(buffer.getvalue())
    assert [(s.location.label(), s.text) for s in document.segments] == [
        ("'Данные'!B3:D200", "| Выручка\n |  | 1\nИтого"),
    ]


def test_html_main_content_and_heading_paths() -> None:
    zen = parse_sample("pep-0020.html")
    assert zen.kind is DocumentKind.HTML
    assert zen.title == "pep-0020"
    assert segment_with(zen, "Beautiful is better than ugly.").heading_path == (
        "The Zen of Python",
    )
    assert all("font-family" not in segment.text for segment in zen.segments)

    hints = parse_sample("pep-0484.html")
    assert ("Rationale and Goals", "Non-goals") in paths(hints)
    assert len(hints.segments) > 100


def test_html_drops_page_furniture() -> None:
    page = b"""<!doctype html><html><head><title>Pricing</title><style>p{}</style></head>
    <body><nav><a href="/">Home</a> Menu</nav><header>Site header</header>
    <main><h1>Plans</h1><p>Pro costs <b>10</b> a month.</p><h2>Limits</h2>
    <ul><li>5 users</li><li>10 GB</li></ul><script>track()</script></main>
    <aside>Related links</aside><footer>Copyright footer</footer></body></html>"""
    document = parse_document(page)
    assert document.title == "Pricing"
    assert [(s.text, s.location.heading_path) for s in document.segments] == [
        ("Pro costs 10 a month.", ("Plans",)),
        ("5 users", ("Plans", "Limits")),
        ("10 GB", ("Plans", "Limits")),
    ]


def test_markdown_heading_paths_and_code() -> None:
    document = parse_sample("pep-0498.md")
    assert document.kind is DocumentKind.MARKDOWN
    assert segment_with(document, "Python supports multiple ways").heading_path == ("Abstract",)
    assert ("Discussion", "Raw f-strings") in paths(document)
    assert ">>> name = 'Fred'" in document.text

    fenced = parse_document(
        b"# Guide\n\n## Install\n\n```sh\npip install x\n\n# not a heading\n```\n"
    )
    assert [(s.text, s.location.heading_path) for s in fenced.segments] == [
        ("pip install x\n\n# not a heading", ("Guide", "Install")),
    ]
    assert fenced.title == "Guide"


def test_plain_text_paragraphs() -> None:
    document = parse_sample("pep-0343.txt")
    assert document.kind is DocumentKind.TEXT
    assert segment_with(document, 'This PEP adds a new statement "with"').heading_path == ()
    assert len(document.segments) > 50


# --- Russian ----------------------------------------------------------------------------------

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю."


def test_russian_docx_round_trips() -> None:
    data = docx_bytes(("Heading 1", "Введение"), ("Heading 2", "Цели"), ("Normal", RUSSIAN))
    document = parse_document(data)
    assert document.segments[0].text == RUSSIAN
    assert document.segments[0].location.label() == "§ Введение › Цели"
    assert document.language == "ru"


def test_russian_html_and_markdown_round_trip() -> None:
    html = f"<html><head><title>Тарифы</title></head><body><h1>Раздел</h1><p>{RUSSIAN}</p>"
    document = parse_document(html.encode())
    assert document.title == "Тарифы"
    assert (document.segments[0].text, document.segments[0].location.heading_path) == (
        RUSSIAN,
        ("Раздел",),
    )
    markdown = parse_document(f"# Обзор\n\n{RUSSIAN}\n".encode())
    assert markdown.segments[0].location.heading_path == ("Обзор",)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1251"])
def test_russian_plain_text_in_common_encodings(encoding: str) -> None:
    document = parse_document(f"{RUSSIAN}\n\nВторой абзац.".encode(encoding))
    assert document.kind is DocumentKind.TEXT
    assert [segment.text for segment in document.segments] == [RUSSIAN, "Второй абзац."]
    assert document.language == "ru"


# --- failures ---------------------------------------------------------------------------------


def test_encrypted_pdf_fails_with_a_clear_reason() -> None:
    error = expect_error("password_protected", sample("libreoffice-writer-password.pdf"))
    assert error.reason == (
        "The PDF is password-protected; remove the password and upload it again."
    )


def test_truncated_pdf_is_corrupt() -> None:
    error = expect_error("corrupt", sample("pep-0008.pdf")[:5000])
    assert "not a valid PDF" in error.reason


def test_corrupt_docx() -> None:
    error = expect_error("corrupt", sample("pep-0257.docx")[:6000])
    assert error.reason == "The file is not a valid DOCX (corrupt zip)."

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document><broken")
    error = expect_error("corrupt", buffer.getvalue())
    assert error.reason.startswith("The file is not a valid DOCX (")


def test_pdf_without_text_is_empty() -> None:
    blank = pypdfium2.PdfDocument.new()
    blank.new_page(200, 200)
    buffer = io.BytesIO()
    blank.save(buffer)
    blank.close()
    error = expect_error("empty", buffer.getvalue())
    assert "scanned" in error.reason


def _zeros_zip(size: int) -> bytes:
    """A DOCX-looking zip whose document part is ``size`` zero bytes, written in chunks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as entry:
            chunk = bytes(MiB)
            for _ in range(size // MiB):
                entry.write(chunk)
    return buffer.getvalue()


def _refuse_to_decompress(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the guard must not decompress anything")

    monkeypatch.setattr(zipfile.ZipFile, "open", fail)


def test_zip_bomb_over_the_total_cap_is_refused_unopened(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _zeros_zip(300 * MiB)
    assert len(bomb) < 2 * MiB
    _refuse_to_decompress(monkeypatch)
    started = time.perf_counter()
    error = expect_error("zip_bomb", bomb)
    assert time.perf_counter() - started < 1.0
    assert error.reason == "The archive expands to more than 200 MiB (possible zip bomb)."


def test_zip_bomb_by_compression_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _zeros_zip(16 * MiB)
    _refuse_to_decompress(monkeypatch)
    error = expect_error("zip_bomb", bomb)
    assert "compressed more than 100 to 1" in error.reason


def test_zip_with_too_many_entries() -> None:
    expect_error("zip_bomb", sample("pep-0257.docx"), limits=ParseLimits(max_zip_entries=5))


def test_page_cap() -> None:
    error = expect_error("too_many_pages", sample("pep-0008.pdf"), limits=ParseLimits(max_pages=5))
    assert error.reason == "The document has 27 pages; the limit is 5."
    expect_error("too_many_pages", sample("pep-0287.pptx"), limits=ParseLimits(max_pages=5))


def test_size_cap() -> None:
    limits = ParseLimits(max_bytes=100 * 1024)
    error = expect_error("too_large", sample("pep-0008.pdf"), limits=limits)
    assert error.reason == "The file is 148 KiB; the limit is 100 KiB."


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_file(data: bytes) -> None:
    assert expect_error("empty", data).reason == "The file is empty."


def test_random_binary_is_unsupported() -> None:
    expect_error("unsupported", random.Random(8).randbytes(4096))


def test_other_archives_and_legacy_office_are_unsupported() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.txt", "not an office document")
    expect_error("unsupported", buffer.getvalue())
    legacy = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert "Legacy Office" in expect_error("unsupported", legacy).reason
    encrypted = legacy + "EncryptedPackage".encode("utf-16-le")
    expect_error("password_protected", encrypted)


# --- async wrapper ----------------------------------------------------------------------------


async def test_parse_document_async_returns_the_document() -> None:
    document = await parse_document_async(sample("pep-0020.html"))
    assert document.kind is DocumentKind.HTML


async def test_parse_document_async_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from parmenid.knowledge.parsers import text

    def slow(data: bytes, limits: ParseLimits) -> ParsedDocument:
        time.sleep(0.5)
        raise AssertionError("should have timed out first")

    monkeypatch.setattr(text, "parse_text", slow)
    started = asyncio.get_running_loop().time()
    with pytest.raises(ParseError) as caught:
        await parse_document_async(b"plain words", limits=ParseLimits(timeout_seconds=0.05))
    assert caught.value.code == "timeout"
    assert "longer than 0.05 seconds" in caught.value.reason
    assert asyncio.get_running_loop().time() - started < 0.4


def test_location_labels() -> None:
    assert Location(page=3).label() == "p. 3"
    assert Location(slide=2).label() == "slide 2"
    assert Location(sheet="Sheet1", cell_range="Sheet1!A1:F20").label() == "Sheet1!A1:F20"
    assert Location(heading_path=("Introduction", "Motivation")).label() == (
        "§ Introduction › Motivation"
    )
