"""Pictures on slides (logos, a slide's image): checked, converted to PNG when they are not PNG
or JPEG, and fitted into a box keeping their proportions."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from typing import Literal

from PIL import Image, UnidentifiedImageError

from parmenid.presentai.render.boxes import Rect

logger = logging.getLogger(__name__)
MAX_PIXELS = 40_000_000  # a larger picture is refused (decompression bombs)


@lru_cache(maxsize=32)
def _inspect(data: bytes) -> tuple[bytes, int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or not width or not height:
                return None
            if image.format in ("PNG", "JPEG"):
                image.verify()
                return data, width, height
            out = io.BytesIO()
            image.convert("RGBA").save(out, format="PNG")
            return out.getvalue(), width, height
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("picture skipped: %s", exc)
        return None


def normalized(data: bytes) -> bytes | None:
    """PNG or JPEG bytes of the picture, or None when it is not a readable picture."""
    found = _inspect(data)
    return found[0] if found else None


def pixel_size(data: bytes) -> tuple[int, int]:
    found = _inspect(data)
    return (found[1], found[2]) if found else (1, 1)


def fit(data: bytes, box: Rect, align: Literal["center", "right"] = "center") -> Rect:
    """The largest rectangle of the picture's proportions inside `box` (centered vertically;
    horizontally centered or against the right edge)."""
    width, height = pixel_size(data)
    scale = min(box.w / width, box.h / height)
    w, h = width * scale, height * scale
    x = box.right - w if align == "right" else box.x + (box.w - w) / 2
    return Rect(x, box.y + (box.h - h) / 2, w, h)
