"""Checking an uploaded logo: PNG or JPEG by its content, and really an image of sane size.

The format is read from the magic bytes (415 for anything else, whatever the name says); the
dimensions from the header, refused (422) past `max_side` before any pixel is decoded; then
Pillow decodes the whole image in a worker thread, so a truncated or damaged file is 422 too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from io import BytesIO

from parmenid.core.errors import Text, UnsupportedMediaType
from parmenid.presentai.brand_kits.templates import refused

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
DECODE_TIMEOUT_SECONDS = 20.0

NOT_AN_IMAGE = Text(
    "The logo must be a PNG or JPEG image.",
    "Логотип должен быть изображением PNG или JPEG.",
)
DAMAGED = Text(
    "The logo could not be read as an image: it is damaged or incomplete. Export it again as "
    "PNG or JPEG and upload the new file.",
    "Логотип не читается как изображение: файл повреждён или неполный. Сохраните его заново "
    "в PNG или JPEG и загрузите новый файл.",
)


@dataclass(frozen=True)
class InspectedLogo:
    content_type: str  # image/png | image/jpeg
    width: int
    height: int


def content_type_of(data: bytes) -> str:
    """image/png or image/jpeg from the magic bytes; 415 otherwise."""
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    raise UnsupportedMediaType(NOT_AN_IMAGE, extra={"reason": "unsupported"})


async def inspect_logo(data: bytes, max_side: int) -> InspectedLogo:
    content_type = content_type_of(data)
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_decode, data, content_type, max_side),
            timeout=DECODE_TIMEOUT_SECONDS,
        )
    except TimeoutError as exc:
        raise refused("corrupt", DAMAGED) from exc


def _decode(data: bytes, content_type: str, max_side: int) -> InspectedLogo:
    from PIL import Image, UnidentifiedImageError

    expected = "PNG" if content_type == "image/png" else "JPEG"
    try:
        with Image.open(BytesIO(data), formats=[expected]) as image:
            width, height = image.size
            if width > max_side or height > max_side:
                raise refused(
                    "dimensions",
                    Text(
                        f"The logo is {width}×{height} pixels; at most {max_side}×{max_side} "
                        "are accepted. Scale it down and upload it again.",
                        f"Логотип {width}×{height} пикселей, допускается не больше "
                        f"{max_side}×{max_side}. Уменьшите его и загрузите снова.",
                    ),
                )
            if width < 1 or height < 1:
                raise refused("corrupt", DAMAGED)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise refused("corrupt", DAMAGED) from exc
    except Image.DecompressionBombError as exc:  # pragma: no cover - the side limit is lower
        raise refused("dimensions", DAMAGED) from exc
    return InspectedLogo(content_type, width, height)
