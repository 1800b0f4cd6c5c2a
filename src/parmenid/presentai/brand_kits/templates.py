"""Checking an uploaded PPTX template before it is stored, and describing what it holds.

In order, each step refusing with an error the uploader can act on:
1. the content is sniffed (never the name): anything but an OOXML presentation is 415
   `unsupported_file_type`, so is a legacy `.ppt` and a macro-enabled one (`.pptm`, `.potm`);
2. the zip-bomb guard of the document parsers reads the central directory only (entries,
   expanded size, compression ratio): 422;
3. a template (`.potx`) or a show (`.ppsx`) is re-labelled as a presentation (its main part's
   content type), because that is what python-pptx, and so the renderer, opens;
4. python-pptx opens it, in a worker thread under a time limit: a damaged file is 422;
5. it must hold 1..`max_masters` slide masters, 1..`max_layouts` layouts, at most `max_slides`
   slides and a slide size within the format's range (1 to 56 inches a side).

What it found becomes the kit's `template_info`: slide size, layout names, masters, slides,
size, and the first master's theme fonts and colors when the theme declares them.
"""

from __future__ import annotations

import asyncio
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from parmenid.core.errors import (
    AppError,
    FieldProblem,
    Text,
    UnsupportedMediaType,
    ValidationFailed,
)
from parmenid.knowledge.parsers import DocumentKind, ParseError, ParseLimits, sniff
from parmenid.knowledge.parsers.ooxml import check_archive

CT_PREFIX = "application/vnd.openxmlformats-officedocument.presentationml."
PRESENTATION_MAIN = CT_PREFIX + "presentation.main+xml"
RELABELLED = {CT_PREFIX + "template.main+xml", CT_PREFIX + "slideshow.main+xml"}
MACRO_ENABLED = {
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.addin.macroEnabled.main+xml",
}
MAIN_PART = "/ppt/presentation.xml"
CONTENT_TYPES = "[Content_Types].xml"
# ST_SlideSizeCoordinate: 1 inch to 56 inches, in EMU.
MIN_SIDE_EMU, MAX_SIDE_EMU = 914_400, 51_206_400
THEME_COLORS = (
    "dk1",
    "lt1",
    "dk2",
    "lt2",
    "accent1",
    "accent2",
    "accent3",
    "accent4",
    "accent5",
    "accent6",
    "hlink",
    "folHlink",
)

RESAVE_EN = "Open it in PowerPoint, save it again as .pptx and upload the new file."
RESAVE_RU = "Откройте его в PowerPoint, сохраните заново как .pptx и загрузите новый файл."
NOT_PPTX = Text(
    "The file is not a PowerPoint presentation: upload a .pptx or .potx file.",
    "Файл не является презентацией PowerPoint: загрузите файл .pptx или .potx.",
)
LEGACY_PPT = Text(
    "Legacy PowerPoint files (.ppt) are not supported: open the file in PowerPoint and save it "
    "as .pptx.",
    "Старые файлы PowerPoint (.ppt) не поддерживаются: откройте файл в PowerPoint и сохраните "
    "его как .pptx.",
)
MACROS = Text(
    "Macro-enabled presentations (.pptm, .potm, .ppsm) are not accepted as templates: save the "
    "file as .pptx (without macros).",
    "Презентации с макросами (.pptm, .potm, .ppsm) не принимаются как шаблон: сохраните файл "
    "как .pptx (без макросов).",
)
EMPTY = Text("The file is empty.", "Файл пустой.")
PASSWORD = Text(
    "The presentation is password-protected: remove the password and upload it again.",
    "Презентация защищена паролем: снимите пароль и загрузите её снова.",
)
ZIP_BOMB_RU = (
    "Архив шаблона распаковывается в слишком большой объём (возможна zip-бомба): уберите из "
    "шаблона крупные вложенные файлы и загрузите его снова."
)


def refused(reason: str, text: Text) -> ValidationFailed:
    """A 422 about the uploaded `file`, with a machine-readable `reason`."""
    return ValidationFailed(
        text, extra={"reason": reason}, problems=[FieldProblem("file", text, reason)]
    )


def damaged(detail: str) -> ValidationFailed:
    return refused(
        "corrupt",
        Text(
            f"The template is damaged and cannot be opened ({detail}). {RESAVE_EN}",
            f"Шаблон повреждён и не открывается ({detail}). {RESAVE_RU}",
        ),
    )


@dataclass(frozen=True)
class TemplateLimits:
    max_layouts: int = 200
    max_masters: int = 50
    max_slides: int = 200
    timeout_seconds: float = 30.0
    archive: ParseLimits = field(default_factory=ParseLimits)


@dataclass(frozen=True)
class InspectedTemplate:
    data: bytes  # what is stored: a .pptx (a .potx or .ppsx re-labelled)
    info: dict[str, Any]  # the kit's `template_info`


async def inspect_template_async(data: bytes, limits: TemplateLimits) -> InspectedTemplate:
    """`inspect_template` in a worker thread, refused (422) past `limits.timeout_seconds`.

    A thread cannot be stopped: on timeout it finishes in the background and its result is
    dropped; the archive limits keep that work bounded."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(inspect_template, data, limits), timeout=limits.timeout_seconds
        )
    except TimeoutError as exc:
        seconds = f"{limits.timeout_seconds:g}"
        raise refused(
            "timeout",
            Text(
                f"Reading the template took longer than {seconds} seconds: simplify it (fewer "
                "layouts, smaller pictures) and upload it again.",
                f"Чтение шаблона заняло больше {seconds} с: упростите его (меньше макетов, "
                "картинки поменьше) и загрузите снова.",
            ),
        ) from exc


def inspect_template(data: bytes, limits: TemplateLimits) -> InspectedTemplate:
    """Check an uploaded template as the module docstring says; what to store and describe."""
    _sniff_presentation(data)
    try:
        check_archive(data, limits.archive)
    except ParseError as exc:
        raise _parse_refusal(exc) from exc
    data = _as_presentation(data)
    return InspectedTemplate(data, _describe(data, limits))


def _parse_refusal(exc: ParseError) -> AppError:
    if exc.code == "zip_bomb":
        return refused("zip_bomb", Text(exc.reason, ZIP_BOMB_RU))
    if exc.code == "password_protected":
        return refused("password_protected", PASSWORD)
    if exc.code == "empty":
        return refused("empty", EMPTY)
    if exc.code == "unsupported":
        legacy = "Legacy Office" in exc.reason
        return UnsupportedMediaType(LEGACY_PPT if legacy else NOT_PPTX, extra={"reason": exc.code})
    return damaged("corrupt zip" if "zip" in exc.reason else exc.code)


def _sniff_presentation(data: bytes) -> None:
    try:
        kind = sniff(data)
    except ParseError as exc:
        raise _parse_refusal(exc) from exc
    if kind is not DocumentKind.PPTX:
        name = kind.value.upper() if kind.value in ("pdf", "docx", "xlsx", "html") else kind.value
        raise UnsupportedMediaType(
            Text(
                f"The file is a {name} document, not a PowerPoint presentation: upload a .pptx "
                "or .potx file.",
                f"Файл — документ {name}, а не презентация PowerPoint: загрузите файл .pptx "
                "или .potx.",
            ),
            extra={"reason": "unsupported", "detected": kind.value},
        )


def _as_presentation(data: bytes) -> bytes:
    """The package with its main part labelled a presentation (see the module docstring)."""
    from pptx.oxml import parse_xml

    with zipfile.ZipFile(BytesIO(data)) as archive:
        try:
            types_xml = archive.read(CONTENT_TYPES)
            types = parse_xml(types_xml)
        except Exception as exc:  # a missing or broken part: zip and XML errors alike
            raise damaged("unreadable content types") from exc
        main_type = None
        for element in types.iter("{*}Override"):
            if str(element.get("PartName", "")).lower() == MAIN_PART:
                main_type = str(element.get("ContentType", ""))
        if main_type in MACRO_ENABLED:
            raise UnsupportedMediaType(MACROS, extra={"reason": "macro_enabled"})
        if main_type not in RELABELLED:
            return data
        rewritten = types_xml.replace(main_type.encode(), PRESENTATION_MAIN.encode())
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for entry in archive.infolist():
                content = rewritten if entry.filename == CONTENT_TYPES else archive.read(entry)
                copy.writestr(entry, content)
    return out.getvalue()


def _describe(data: bytes, limits: TemplateLimits) -> dict[str, Any]:
    import pptx

    try:
        presentation = pptx.Presentation(BytesIO(data))
        masters = list(presentation.slide_masters)
        layouts = [layout.name or "" for master in masters for layout in master.slide_layouts]
        slides = len(presentation.slides)
        width, height = presentation.slide_width, presentation.slide_height
        theme = _theme(masters[0]) if masters else {}
    except AppError:
        raise
    except ValueError as exc:
        if "not a PowerPoint file" in str(exc):  # the main part is of another kind
            raise UnsupportedMediaType(NOT_PPTX, extra={"reason": "unsupported"}) from exc
        raise damaged(_detail(exc)) from exc
    except (MemoryError, RecursionError) as exc:
        raise refused(
            "too_large",
            Text(
                "The template is too complex to read: simplify it and upload it again.",
                "Шаблон слишком сложный для чтения: упростите его и загрузите снова.",
            ),
        ) from exc
    except Exception as exc:  # python-pptx, lxml and zipfile each have their own errors
        raise damaged(_detail(exc)) from exc
    _check_counts(len(masters), len(layouts), slides, limits)
    if (
        width is None
        or height is None
        or not all(MIN_SIDE_EMU <= side <= MAX_SIDE_EMU for side in (width, height))
    ):
        raise refused(
            "slide_size",
            Text(
                "The template's slide size is missing or out of range (1 to 56 inches a side). "
                "Set it in PowerPoint (Design → Slide Size) and upload the template again.",
                "Размер слайда в шаблоне не задан или вне допустимого диапазона (от 1 до 56 "
                "дюймов). Задайте его в PowerPoint («Конструктор» → «Размер слайда») и "
                "загрузите шаблон снова.",
            ),
        )
    return {
        "slide_width_emu": int(width),
        "slide_height_emu": int(height),
        "layouts": layouts,
        "masters": len(masters),
        "slides": slides,
        "size_bytes": len(data),
        "theme_fonts": theme.get("fonts"),
        "theme_colors": theme.get("colors"),
    }


def _check_counts(masters: int, layouts: int, slides: int, limits: TemplateLimits) -> None:
    if masters == 0 or layouts == 0:
        raise refused(
            "no_layouts",
            Text(
                "The template has no slide master with layouts. Add them in PowerPoint (View → "
                "Slide Master), save as .pptx and upload it again.",
                "В шаблоне нет образца слайдов с макетами. Добавьте их в PowerPoint («Вид» → "
                "«Образец слайдов»), сохраните как .pptx и загрузите снова.",
            ),
        )
    for count, most, en, ru in (
        (masters, limits.max_masters, "slide masters", "образцов слайдов"),
        (layouts, limits.max_layouts, "layouts", "макетов"),
    ):
        if count > most:
            raise refused(
                "too_many_layouts",
                Text(
                    f"The template has {count} {en}; at most {most} are accepted. Delete the "
                    "unused ones (View → Slide Master) and upload it again.",
                    f"В шаблоне {count} {ru}, допускается не больше {most}. Удалите "
                    "неиспользуемые («Вид» → «Образец слайдов») и загрузите шаблон снова.",
                ),
            )
    if slides > limits.max_slides:
        raise refused(
            "too_many_slides",
            Text(
                f"The template holds {slides} slides; at most {limits.max_slides} are accepted. "
                "A template needs no content slides: delete them and upload it again.",
                f"В шаблоне {slides} слайдов, допускается не больше {limits.max_slides}. "
                "Шаблону не нужны слайды с содержимым: удалите их и загрузите шаблон снова.",
            ),
        )


def _theme(master: Any) -> dict[str, Any]:
    """The fonts and colors the master's theme declares (empty when it has no theme)."""
    from pptx.opc.constants import RELATIONSHIP_TYPE
    from pptx.oxml import parse_xml
    from pptx.oxml.ns import qn

    try:
        part = master.part.part_related_by(RELATIONSHIP_TYPE.THEME)
    except KeyError:
        return {}
    theme = parse_xml(part.blob)
    found: dict[str, Any] = {}
    fonts: dict[str, str | None] = {}
    for key, tag in (("major", "a:majorFont"), ("minor", "a:minorFont")):
        latin = next(iter(theme.iter(qn(tag))), None)
        face = latin.find(qn("a:latin")) if latin is not None else None
        typeface = str(face.get("typeface", "")).strip() if face is not None else ""
        fonts[key] = typeface[:100] or None
    if any(fonts.values()):
        found["fonts"] = fonts
    scheme = next(iter(theme.iter(qn("a:clrScheme"))), None)
    colors: dict[str, str] = {}
    if scheme is not None:
        for name in THEME_COLORS:
            slot = scheme.find(qn(f"a:{name}"))
            value = _color_of(slot) if slot is not None else None
            if value:
                colors[name] = value
    if colors:
        found["colors"] = colors
    return found


def _color_of(slot: Any) -> str | None:
    from pptx.oxml.ns import qn

    rgb = slot.find(qn("a:srgbClr"))
    if rgb is not None:
        value = str(rgb.get("val", ""))
    else:
        system = slot.find(qn("a:sysClr"))
        value = str(system.get("lastClr", "")) if system is not None else ""
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return "#" + value.upper()
    return None


def _detail(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile):
        return "corrupt zip"
    if isinstance(exc, KeyError):
        return "a part it refers to is missing"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (message[:117] + "...") if len(message) > 120 else (message or type(exc).__name__)
