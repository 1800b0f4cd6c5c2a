"""Text styles and colors from the brand: what reads on what, and the deck's own words."""

from __future__ import annotations

from dataclasses import dataclass

from parmenid.presentai.render.boxes import TextStyle
from parmenid.presentai.render.deck import BrandStyle
from parmenid.presentai.render.fonts import face_for, is_shipped


def deck_words(lang: str) -> dict[str, str]:
    if lang.casefold().startswith("ru"):
        return {"cont": " (продолжение)", "sources": "Источники", "source": "Источник"}
    return {"cont": " (cont.)", "sources": "Sources", "source": "Source"}


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two colors (1 to 21)."""

    def linear(color: str) -> float:
        channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((linear(one), linear(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def on_color(color: str) -> str:
    """White or near-black text, whichever reads on `color`."""
    return "#FFFFFF" if contrast(color, "#FFFFFF") >= contrast(color, "#111827") else "#111827"


def mix(color: str, other: str, share: float) -> str:
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(
        f"{round(x * (1 - share) + y * share):02X}" for x, y in zip(a, b, strict=True)
    )


@dataclass(frozen=True)
class Styles:
    heading: TextStyle
    body: TextStyle
    mark: TextStyle
    small: TextStyle
    on_primary: TextStyle
    on_primary_body: TextStyle


def text_styles(style: BrandStyle, templated: bool) -> Styles:
    """Text styles from the brand. On a template, the template's theme decides colors, and
    fonts too unless the brand names a family of its own."""

    def family(name: str) -> str | None:
        return None if templated and is_shipped(name) else name

    def color(value: str) -> str | None:
        return None if templated else value

    heading_face = face_for(style.heading_font, bold=True).name
    body_face = face_for(style.body_font, bold=False).name
    hf, bf = family(style.heading_font), family(style.body_font)
    light = on_color(style.primary)
    # titles in the primary color, unless it does not read on the background
    title = style.primary if contrast(style.primary, style.background) >= 3 else style.text
    return Styles(
        heading=TextStyle(hf, heading_face, True, color(title), title),
        body=TextStyle(bf, body_face, False, color(style.text), style.text),
        mark=TextStyle(bf, body_face, False, color(style.accent), style.accent),
        small=TextStyle(bf, body_face, False, color(style.text), style.text),
        on_primary=TextStyle(hf, heading_face, True, color(light), light),
        on_primary_body=TextStyle(bf, body_face, False, color(light), light),
    )
