"""Brand kit requests and responses.

Colors are "#RRGGBB" (stored upper-case), fonts are family names, `default_layouts` maps a
slide role to one of the renderer's layouts. In a PATCH, `colors`, `fonts` and
`default_layouts` are merged into what is stored (JSON Merge Patch): a key sent with a value
sets it, a key sent as null removes it, the whole object sent as null clears it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from parmenid.core.errors import Text
from parmenid.core.web import field_error
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.render.deck import Attribution, Layout

SlideRole = Literal["title", "section", "content", "closing"]
HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

BAD_COLOR = Text(
    'A color is written "#RRGGBB", e.g. "#1F3A93".',
    "Цвет записывается как «#RRGGBB», например «#1F3A93».",
)
BAD_FONT = Text(
    "A font is a family name such as “Arial” or “PT Sans”: 1–100 printable characters.",
    "Шрифт: название семейства, например «Arial» или «PT Sans», 1–100 печатных символов.",
)
CONTROL_CHARACTERS = Text(
    "may not contain control characters or line breaks",
    "не может содержать управляющие символы и переводы строк",
)
NOT_NULL = Text("may not be null", "не может быть null")


def _color(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not HEX_COLOR.fullmatch(value):
            raise field_error("color", BAD_COLOR)
        return value.upper()
    return value


def _font(value: Any) -> Any:
    if isinstance(value, str):
        value = re.sub(" {2,}", " ", value.strip())
        if not value or len(value) > 100 or not value.isprintable():
            raise field_error("font", BAD_FONT)
    return value


def _one_line(value: str) -> str:
    if CONTROL.search(value):
        raise field_error("control_characters", CONTROL_CHARACTERS)
    return value


Color = Annotated[str, BeforeValidator(_color)]
FontName = Annotated[str, BeforeValidator(_font)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_one_line),
]
Footer = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), AfterValidator(_one_line)
]


class BrandColors(BaseModel):
    """The palette; a color left out uses the renderer's default."""

    model_config = ConfigDict(extra="forbid")

    primary: Color | None = Field(default=None, examples=["#1F3A93"])
    secondary: Color | None = None
    accent: Color | None = None
    background: Color | None = None
    text: Color | None = None


class BrandFonts(BaseModel):
    """Font families for headings and body text; one left out uses the renderer's default."""

    model_config = ConfigDict(extra="forbid")

    heading: FontName | None = Field(default=None, examples=["PT Sans"])
    body: FontName | None = None


class BrandKitCreate(BaseModel):
    organization_id: uuid.UUID
    name: Name
    colors: BrandColors | None = None
    fonts: BrandFonts | None = None
    footer_text: Footer | None = Field(default=None, description="Shown on every slide")
    default_layouts: dict[SlideRole, Layout] | None = Field(
        default=None,
        description='Preferred layout per slide role, e.g. {"content": "two_columns"}',
    )
    attribution: Attribution = Field(
        default="footnotes",
        description="Source attributions as footnotes on the slide or in the speaker notes",
    )
    is_default: bool = Field(
        default=False,
        description="Make it the organization's default (the first kit always becomes it)",
    )


class BrandKitUpdate(BaseModel):
    """Only the fields sent change; see the module docstring for the nested objects."""

    name: Name | None = None
    colors: BrandColors | None = None
    fonts: BrandFonts | None = None
    footer_text: Footer | None = None
    default_layouts: dict[SlideRole, Layout | None] | None = None
    attribution: Attribution | None = None
    is_default: bool | None = Field(
        default=None,
        description="true makes this kit the default; the default stays one until another "
        "kit is made the default",
    )

    @field_validator("name", "attribution", "is_default")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # runs only for values that were sent
            raise field_error("not_null", NOT_NULL)
        return value


def merged(
    stored: Mapping[str, Any], patch: BaseModel | Mapping[Any, Any] | None
) -> dict[str, Any]:
    """`stored` with a JSON Merge Patch applied (None: cleared)."""
    if patch is None:
        return {}
    sent = (
        {name: getattr(patch, name) for name in patch.model_fields_set}
        if isinstance(patch, BaseModel)
        else patch
    )
    result = dict(stored)
    for key, value in sent.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def as_stored(values: BaseModel | Mapping[Any, Any] | None) -> dict[str, Any]:
    """What a create stores: the values given, without nulls."""
    return merged({}, values)


class ThemeFontsOut(BaseModel):
    major: str | None = Field(description="The theme's heading font (latin)")
    minor: str | None = Field(description="The theme's body font (latin)")


class TemplateInfoOut(BaseModel):
    slide_width_emu: int
    slide_height_emu: int
    layouts: list[str] = Field(description="Layout names, master by master")
    masters: int
    slides: int = Field(description="Slides the template itself holds")
    size_bytes: int
    theme_fonts: ThemeFontsOut | None
    theme_colors: dict[str, str] | None = Field(
        description='The theme\'s color scheme, e.g. {"dk1": "#000000", "accent1": "#4472C4"}'
    )


class TemplateOut(BaseModel):
    filename: str
    info: TemplateInfoOut


class BrandKitOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    is_default: bool
    colors: BrandColors
    fonts: BrandFonts
    footer_text: str | None
    default_layouts: dict[str, str]
    attribution: str
    template: TemplateOut | None = Field(description="The PPTX template, if one is uploaded")
    has_logo: bool
    logo_url: str | None = Field(description="GET it with the same credentials")
    logo_content_type: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, kit: BrandKit, api_url: str) -> BrandKitOut:
        """`api_url`: where the API is reached, e.g. "https://api.example.com/api/v1"."""
        template = (
            TemplateOut(
                filename=kit.template_filename or "template.pptx",
                info=TemplateInfoOut.model_validate(kit.template_info),
            )
            if kit.template_storage_key and kit.template_info
            else None
        )
        has_logo = kit.logo_storage_key is not None
        return cls(
            id=kit.id,
            organization_id=kit.organization_id,
            name=kit.name,
            is_default=kit.is_default,
            colors=BrandColors.model_validate(kit.colors or {}),
            fonts=BrandFonts.model_validate(kit.fonts or {}),
            footer_text=kit.footer_text,
            default_layouts=dict(kit.default_layouts or {}),
            attribution=kit.attribution,
            template=template,
            has_logo=has_logo,
            logo_url=f"{api_url.rstrip('/')}/brand-kits/{kit.id}/logo" if has_logo else None,
            logo_content_type=kit.logo_content_type if has_logo else None,
            created_by=kit.created_by_id,
            created_at=kit.created_at,
            updated_at=kit.updated_at,
        )


class BrandKitPageOut(BaseModel):
    items: list[BrandKitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
