"""PNG pictures of slides: our PDF's pages rasterized with PDFium (pypdfium2)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import pypdfium2  # type: ignore[import-untyped]
from PIL import Image

# PDFium is not thread-safe, in any document: share the source parser's lock.
from parmenid.knowledge.parsers.pdf import PDFIUM_LOCK

SLIDE_WIDTH_PX = 1920  # 1920 × 1080 for 16:9
THUMBNAIL_WIDTH_PX = 640


def _images(pdf: bytes, width_px: int, limit: int | None) -> list[Image.Image]:
    images: list[Image.Image] = []
    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(pdf)
        try:
            count = len(document) if limit is None else min(limit, len(document))
            for index in range(count):
                page = document[index]
                scale = width_px / page.get_width()
                bitmap = page.render(scale=scale)
                images.append(bitmap.to_pil().copy())  # the bitmap's memory goes with it
                bitmap.close()
                page.close()
        finally:
            document.close()
    return images


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def pages_as_png(pdf: bytes, width_px: int = SLIDE_WIDTH_PX) -> list[bytes]:
    return [_png(image) for image in _images(pdf, width_px, None)]


def thumbnail(pdf: bytes, width_px: int = THUMBNAIL_WIDTH_PX) -> bytes | None:
    """A PNG of the first page."""
    found = _images(pdf, width_px, 1)
    return _png(found[0]) if found else None


def zip_pngs(pngs: Sequence[bytes], stem: str = "slide") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        width = max(2, len(str(len(pngs))))
        for number, data in enumerate(pngs, 1):
            archive.writestr(f"{stem}-{number:0{width}d}.png", data)
    return out.getvalue()
