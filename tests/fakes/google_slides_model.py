"""The presentation model behind the fake Google Slides API (`tests/fakes/google.py`): pages
and elements, and the `batchUpdate` rules, validated the way the API validates them.

Each request is checked before it is applied: a known request kind; new object ids of 5–50
characters of `[a-zA-Z0-9_-:]` starting with `[a-zA-Z0-9_]`, unique among all pages and page
elements; referenced objects that exist and are of the right kind; layout placeholders that
exist on the layout; text indexes and ranges (in UTF-16 code units) within the text; table cell
locations and ranges within the table; `fields` masks naming real fields (and covering every
field set, which Google would otherwise silently ignore); colours in 0..1; sizes with units.
Kinds the model does not cover are refused with a message saying so, so a test notices.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

# Google's predefined layouts of a new presentation, with their placeholders.
LAYOUTS: dict[str, list[tuple[str, int]]] = {
    "BLANK": [],
    "CAPTION_ONLY": [("BODY", 0)],
    "TITLE": [("CENTERED_TITLE", 0), ("SUBTITLE", 0)],
    "TITLE_AND_BODY": [("TITLE", 0), ("BODY", 0)],
    "TITLE_AND_TWO_COLUMNS": [("TITLE", 0), ("BODY", 0), ("BODY", 1)],
    "TITLE_ONLY": [("TITLE", 0)],
    "SECTION_HEADER": [("TITLE", 0)],
    "SECTION_TITLE_AND_DESCRIPTION": [("TITLE", 0), ("SUBTITLE", 0), ("BODY", 0)],
    "ONE_COLUMN_TEXT": [("TITLE", 0), ("BODY", 0)],
    "MAIN_POINT": [("TITLE", 0)],
    "BIG_NUMBER": [("TITLE", 0), ("BODY", 0)],
}
REQUEST_KINDS = {
    "createSlide",
    "createShape",
    "createTable",
    "createImage",
    "createVideo",
    "createLine",
    "createSheetsChart",
    "createParagraphBullets",
    "insertText",
    "insertTableRows",
    "insertTableColumns",
    "deleteObject",
    "deleteText",
    "deleteTableRow",
    "deleteTableColumn",
    "deleteParagraphBullets",
    "replaceAllText",
    "replaceAllShapesWithImage",
    "replaceAllShapesWithSheetsChart",
    "replaceImage",
    "updateTextStyle",
    "updateParagraphStyle",
    "updateShapeProperties",
    "updatePageProperties",
    "updateTableCellProperties",
    "updateTableBorderProperties",
    "updateTableColumnProperties",
    "updateTableRowProperties",
    "updateLineProperties",
    "updateImageProperties",
    "updateVideoProperties",
    "updatePageElementTransform",
    "updatePageElementAltText",
    "updatePageElementsZOrder",
    "updateSlidesPosition",
    "updateSlideProperties",
    "updateLineCategory",
    "rerouteLine",
    "duplicateObject",
    "groupObjects",
    "ungroupObjects",
    "mergeTableCells",
    "unmergeTableCells",
    "refreshSheetsChart",
}
SHAPE_TYPES = {"TEXT_BOX", "RECTANGLE", "ROUND_RECTANGLE", "ELLIPSE", "CLOUD", "WAVE"}
BULLET_PRESETS = {
    "BULLET_DISC_CIRCLE_SQUARE",
    "BULLET_DIAMONDX_ARROW3D_SQUARE",
    "BULLET_CHECKBOX",
    "BULLET_ARROW_DIAMOND_DISC",
    "BULLET_STAR_CIRCLE_SQUARE",
    "BULLET_ARROW3D_CIRCLE_SQUARE",
    "BULLET_LEFTTRIANGLE_DIAMOND_DISC",
    "BULLET_DIAMONDX_HOLLOWDIAMOND_SQUARE",
    "BULLET_DIAMOND_CIRCLE_SQUARE",
    "NUMBERED_DIGIT_ALPHA_ROMAN",
    "NUMBERED_DIGIT_ALPHA_ROMAN_PARENS",
    "NUMBERED_DIGIT_NESTED",
    "NUMBERED_UPPERALPHA_ALPHA_ROMAN",
    "NUMBERED_UPPERROMAN_UPPERALPHA_DIGIT",
    "NUMBERED_ZERODIGIT_ALPHA_ROMAN",
}
TEXT_STYLE_FIELDS = {
    "backgroundColor",
    "foregroundColor",
    "bold",
    "italic",
    "fontFamily",
    "fontSize",
    "link",
    "baselineOffset",
    "smallCaps",
    "strikethrough",
    "underline",
    "weightedFontFamily",
}
PARAGRAPH_STYLE_FIELDS = {
    "lineSpacing",
    "alignment",
    "indentStart",
    "indentEnd",
    "spaceAbove",
    "spaceBelow",
    "indentFirstLine",
    "direction",
    "spacingMode",
}
OBJECT_ID = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_\-:]{4,49}")


class Invalid(Exception):
    pass


@dataclass
class Element:
    object_id: str
    kind: Literal["slide", "notes", "shape", "table"]
    page: str | None = None  # the page an element is on
    placeholder: tuple[str, int] | None = None
    shape_type: str | None = None
    text: str = ""
    cells: list[list[str]] = field(default_factory=list)
    layout: str | None = None  # slides
    notes_page: str | None = None  # slides: their notes page
    speaker_notes_id: str | None = None  # notes pages
    bulleted: bool = False
    background: dict[str, Any] | None = None
    styles: list[dict[str, Any]] = field(default_factory=list)  # {"style", "text", "cell"}


@dataclass
class Presentation:
    presentation_id: str
    title: str
    objects: dict[str, Element] = field(default_factory=dict)
    slides: list[str] = field(default_factory=list)
    revision: int = 1
    deleted: bool = False

    def slide_texts(self, slide_id: str) -> list[str]:
        """The slide's texts in reading order: placeholders by kind, then boxes, then tables."""
        order = {"CENTERED_TITLE": 0, "TITLE": 0, "SUBTITLE": 1, "BODY": 2}
        elements = [e for e in self.objects.values() if e.page == slide_id]
        elements.sort(
            key=lambda e: (
                order.get(e.placeholder[0], 3) if e.placeholder else 4,
                e.placeholder[1] if e.placeholder else 0,
                e.kind == "table",
            )
        )
        texts: list[str] = []
        for element in elements:
            if element.kind == "table":
                texts += [cell for row in element.cells for cell in row if cell]
            elif element.text:
                texts.append(element.text)
        return texts

    def notes_of(self, slide_id: str) -> str:
        notes = self.objects[self.objects[slide_id].notes_page or ""]
        shape = self.objects.get(notes.speaker_notes_id or "")
        return shape.text if shape else ""


@dataclass
class SlidesRules:
    """Applies `batchUpdate` requests to a `Presentation` (raising `Invalid`)."""

    omit_speaker_notes_shapes: bool = False  # Google creates them on the first text operation
    _ids: int = 0

    def new_id(self) -> str:
        self._ids += 1
        return f"g{secrets.token_hex(5)}_{self._ids}"

    def apply(self, p: Presentation, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or len(item) != 1:
            raise Invalid("A request must set exactly one kind of request.")
        kind, args = next(iter(item.items()))
        if kind not in REQUEST_KINDS:
            raise Invalid(f"Unknown request kind {kind!r}.")
        handler = getattr(self, f"_r_{kind}", None)
        if handler is None:
            raise Invalid(f"(the fake does not model {kind} yet)")
        if not isinstance(args, dict):
            raise Invalid("The request must be an object.")
        reply: dict[str, Any] = handler(p, args)
        return reply

    def _r_createSlide(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        object_id = _new_object_id(p, args.get("objectId"), self)
        reference = args.get("slideLayoutReference") or {"predefinedLayout": "BLANK"}
        layout = reference.get("predefinedLayout")
        if len(reference) != 1 or layout not in LAYOUTS:
            raise Invalid(f"The layout {layout or reference!r} is not a predefined layout.")
        index = args.get("insertionIndex", len(p.slides))
        if not isinstance(index, int) or not 0 <= index <= len(p.slides):
            raise Invalid(f"The insertion index {index} is out of range [0, {len(p.slides)}].")
        mapped: dict[tuple[str, int], str] = {}
        for mapping in args.get("placeholderIdMappings") or []:
            placeholder = mapping.get("layoutPlaceholder") or {}
            key = (placeholder.get("type"), placeholder.get("index", 0))
            if key not in LAYOUTS[layout]:
                raise Invalid(
                    f"The placeholder (type: {key[0]}, index: {key[1]}) does not exist on the "
                    f"layout {layout}."
                )
            if key in mapped:
                raise Invalid(f"The placeholder (type: {key[0]}, index: {key[1]}) is mapped twice.")
            element_id = _new_object_id(p, mapping.get("objectId"), self)
            if element_id in mapped.values() or element_id == object_id:
                raise Invalid(f"The object ID ({element_id}) should be unique.")
            mapped[key] = element_id
        create_slide(p, object_id, index, layout, mapped, self)
        return {"createSlide": {"objectId": object_id}}

    def _r_deleteObject(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        element = _existing(p, args.get("objectId"))
        if element.kind == "notes" or (element.page and p.objects[element.page].kind == "notes"):
            raise Invalid(f"The object ({element.object_id}) on a notes page cannot be deleted.")
        if element.kind == "slide":
            p.slides.remove(element.object_id)
            doomed = {element.object_id, element.notes_page}
            doomed |= {e.object_id for e in p.objects.values() if e.page in doomed}
            for object_id in doomed:
                p.objects.pop(object_id or "", None)
        else:
            del p.objects[element.object_id]
        return {}

    def _r_insertText(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = self._speaker_notes_on_demand(p, args.get("objectId"))
        text = args.get("text")
        if not isinstance(text, str) or not text:
            raise Invalid("Insert text requests must specify text to insert.")
        current = _read_text(target, args.get("cellLocation"))
        index = args.get("insertionIndex", 0)
        if not isinstance(index, int) or not 0 <= index <= u16(current):
            raise Invalid(f"The insertion index {index} must be in [0, {u16(current)}].")
        units = current.encode("utf-16-le")
        head, tail = units[: 2 * index], units[2 * index :]
        try:
            merged = (head + text.encode("utf-16-le") + tail).decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise Invalid("The insertion index splits a surrogate pair.") from exc
        _write_text(target, args.get("cellLocation"), merged)
        return {}

    def _r_createShape(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        object_id = _new_object_id(p, args.get("objectId"), self)
        if args.get("shapeType") not in SHAPE_TYPES:
            raise Invalid(f"Unsupported shape type {args.get('shapeType')!r}.")
        page = _element_properties(p, args.get("elementProperties"))
        p.objects[object_id] = Element(object_id, "shape", page=page, shape_type=args["shapeType"])
        return {"createShape": {"objectId": object_id}}

    def _r_createTable(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        object_id = _new_object_id(p, args.get("objectId"), self)
        rows, columns = args.get("rows"), args.get("columns")
        if not isinstance(rows, int) or not isinstance(columns, int) or rows < 1 or columns < 1:
            raise Invalid("A table needs at least one row and one column.")
        page = _element_properties(p, args.get("elementProperties"))
        cells = [[""] * columns for _ in range(rows)]
        p.objects[object_id] = Element(object_id, "table", page=page, cells=cells)
        return {"createTable": {"objectId": object_id}}

    def _r_createParagraphBullets(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _text_holder(p, args.get("objectId"))
        text = _read_text(target, args.get("cellLocation"))
        _range(text, args.get("textRange"))
        if args.get("bulletPreset", "BULLET_DISC_CIRCLE_SQUARE") not in BULLET_PRESETS:
            raise Invalid(f"Unknown bullet preset {args.get('bulletPreset')!r}.")
        target.bulleted = True
        return {}

    def _r_updateTextStyle(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _text_holder(p, args.get("objectId"))
        text = _read_text(target, args.get("cellLocation"))
        start, end = _range(text, args.get("textRange"))
        style = args.get("style") or {}
        _fields(args.get("fields"), TEXT_STYLE_FIELDS, style)
        for name in ("foregroundColor", "backgroundColor"):
            if name in style:
                _optional_colour(style[name])
        if "fontSize" in style:
            _dimension(style["fontSize"], "fontSize")
        if style.get("baselineOffset", "NONE") not in ("NONE", "SUPERSCRIPT", "SUBSCRIPT"):
            raise Invalid(f"Unknown baselineOffset {style['baselineOffset']!r}.")
        covered = text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
        target.styles.append({"style": style, "text": covered, "cell": args.get("cellLocation")})
        return {}

    def _r_updateParagraphStyle(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _text_holder(p, args.get("objectId"))
        _range(_read_text(target, args.get("cellLocation")), args.get("textRange"))
        _fields(args.get("fields"), PARAGRAPH_STYLE_FIELDS, args.get("style") or {})
        return {}

    def _r_updateShapeProperties(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _existing(p, args.get("objectId"))
        if target.kind != "shape":
            raise Invalid(f"The object ({target.object_id}) is not a shape.")
        properties = args.get("shapeProperties") or {}
        _fields(
            args.get("fields"),
            {"shapeBackgroundFill", "outline", "shadow", "link", "contentAlignment", "autofit"},
            properties,
        )
        fill = (properties.get("shapeBackgroundFill") or {}).get("solidFill")
        if fill:
            _opaque_colour(fill.get("color"))
        return {}

    def _r_updatePageProperties(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _existing(p, args.get("objectId"))
        if target.kind != "slide":
            raise Invalid(f"The object ({target.object_id}) is not a slide page.")
        properties = args.get("pageProperties") or {}
        _fields(args.get("fields"), {"pageBackgroundFill", "colorScheme"}, properties)
        fill = (properties.get("pageBackgroundFill") or {}).get("solidFill")
        if fill:
            _opaque_colour(fill.get("color"))
            target.background = fill["color"]
        return {}

    def _r_updateTableCellProperties(self, p: Presentation, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        target = _existing(p, args.get("objectId"))
        if target.kind != "table":
            raise Invalid(f"The object ({target.object_id}) is not a table.")
        table_range = args.get("tableRange") or {}
        location = table_range.get("location") or {}
        row, column = location.get("rowIndex", 0), location.get("columnIndex", 0)
        rows, columns = len(target.cells), len(target.cells[0])
        if not (
            row >= 0
            and column >= 0
            and row + table_range.get("rowSpan", 1) <= rows
            and column + table_range.get("columnSpan", 1) <= columns
        ):
            raise Invalid(f"The table range is outside the table ({rows}x{columns}).")
        properties = args.get("tableCellProperties") or {}
        _fields(
            args.get("fields"),
            {
                "tableCellBackgroundFill",
                "contentAlignment",
                "paddingLeft",
                "paddingRight",
                "paddingTop",
                "paddingBottom",
            },
            properties,
        )
        fill = (properties.get("tableCellBackgroundFill") or {}).get("solidFill")
        if fill:
            _opaque_colour(fill.get("color"))
        return {}

    def _speaker_notes_on_demand(self, p: Presentation, object_id: Any) -> Element:
        """The API creates a missing speaker notes shape on the first text operation."""
        if isinstance(object_id, str) and object_id not in p.objects:
            for page in list(p.objects.values()):
                if page.kind == "notes" and page.speaker_notes_id == object_id:
                    p.objects[object_id] = Element(
                        object_id,
                        "shape",
                        page=page.object_id,
                        placeholder=("BODY", 1),
                        shape_type="TEXT_BOX",
                    )
        return _text_holder(p, object_id)


def create_slide(
    p: Presentation,
    object_id: str,
    index: int,
    layout: str,
    mapped: dict[tuple[str, int], str],
    fake: SlidesRules,
) -> None:
    notes_id = fake.new_id()
    speaker_id = fake.new_id()
    p.objects[object_id] = Element(object_id, "slide", layout=layout, notes_page=notes_id)
    p.objects[notes_id] = Element(notes_id, "notes", speaker_notes_id=speaker_id)
    if not fake.omit_speaker_notes_shapes:
        p.objects[speaker_id] = Element(
            speaker_id, "shape", page=notes_id, placeholder=("BODY", 1), shape_type="TEXT_BOX"
        )
    for key in LAYOUTS[layout]:
        element_id = mapped.get(key) or fake.new_id()
        p.objects[element_id] = Element(
            element_id, "shape", page=object_id, placeholder=key, shape_type="TEXT_BOX"
        )
    p.slides.insert(index, object_id)


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _new_object_id(p: Presentation, value: Any, fake: SlidesRules) -> str:
    if value is None:
        return fake.new_id()
    if not isinstance(value, str) or not OBJECT_ID.fullmatch(value):
        raise Invalid(
            f"The object ID ({value}) should start with a word character [a-zA-Z0-9_] and then "
            "be followed by any number of the following characters [a-zA-Z0-9_-:]; its length "
            "must be between 5 and 50."
        )
    if value in p.objects:
        raise Invalid(
            f"The object ID ({value}) should be unique among all pages and page elements."
        )
    return value


def _existing(p: Presentation, object_id: Any) -> Element:
    if not isinstance(object_id, str) or object_id not in p.objects:
        raise Invalid(f"The object ({object_id}) could not be found.")
    return p.objects[object_id]


def _text_holder(p: Presentation, object_id: Any) -> Element:
    element = _existing(p, object_id)
    if element.kind not in ("shape", "table"):
        raise Invalid(f"The object ({object_id}) is not a shape or a table and holds no text.")
    return element


def _cell(element: Element, location: Any) -> tuple[int, int]:
    if element.kind != "table":
        if location is not None:
            raise Invalid(f"The object ({element.object_id}) is not a table; remove cellLocation.")
        return -1, -1
    if not isinstance(location, dict):
        raise Invalid(f"The object ({element.object_id}) is a table: cellLocation is required.")
    row, column = location.get("rowIndex", 0), location.get("columnIndex", 0)
    if not (0 <= row < len(element.cells) and 0 <= column < len(element.cells[0])):
        raise Invalid(
            f"The cell location (row {row}, column {column}) is outside the table "
            f"({len(element.cells)}x{len(element.cells[0])})."
        )
    return row, column


def _read_text(element: Element, location: Any) -> str:
    row, column = _cell(element, location)
    return element.text if row < 0 else element.cells[row][column]


def _write_text(element: Element, location: Any, text: str) -> None:
    row, column = _cell(element, location)
    if row < 0:
        element.text = text
    else:
        element.cells[row][column] = text


def _range(text: str, text_range: Any) -> tuple[int, int]:
    length = u16(text)
    if not isinstance(text_range, dict):
        raise Invalid("textRange is required.")
    kind = text_range.get("type")
    if kind == "ALL":
        return 0, length
    start = text_range.get("startIndex")
    if not isinstance(start, int) or not 0 <= start <= length:
        raise Invalid(f"The start index {start} must be in [0, {length}].")
    if kind == "FROM_START_INDEX":
        return start, length
    if kind == "FIXED_RANGE":
        end = text_range.get("endIndex")
        if not isinstance(end, int) or not start < end <= length:
            raise Invalid(f"The end index {end} must be in ({start}, {length}].")
        return start, end
    raise Invalid(f"Unknown text range type {kind!r}.")


def _fields(mask: Any, known: set[str], given: dict[str, Any]) -> None:
    if not isinstance(mask, str) or not mask.strip():
        raise Invalid("At least one field must be listed in 'fields'.")
    names = [name.strip() for name in mask.split(",")]
    if names == ["*"]:
        return
    for name in names:
        if name.split(".")[0] not in known:
            raise Invalid(f"Invalid field: {name}")
    tops = {name.split(".")[0] for name in names}
    ignored = set(given) - tops
    if ignored:  # Google silently ignores them; a request that means them is wrong
        raise Invalid(f"(fake) style fields set but not listed in 'fields': {sorted(ignored)}")


def _opaque_colour(colour: Any) -> None:
    if not isinstance(colour, dict) or len(colour) != 1:
        raise Invalid("A colour needs exactly one of rgbColor or themeColor.")
    rgb = colour.get("rgbColor")
    if rgb is None:
        if not isinstance(colour.get("themeColor"), str):
            raise Invalid("A colour needs exactly one of rgbColor or themeColor.")
        return
    if not isinstance(rgb, dict) or set(rgb) - {"red", "green", "blue"}:
        raise Invalid("rgbColor has only red, green and blue.")
    for value in rgb.values():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise Invalid(f"A colour component must be in [0, 1], got {value!r}.")


def _optional_colour(colour: Any) -> None:
    if not isinstance(colour, dict) or set(colour) - {"opaqueColor"}:
        raise Invalid("An optional colour has only opaqueColor.")
    if "opaqueColor" in colour:
        _opaque_colour(colour["opaqueColor"])


def _dimension(value: Any, name: str) -> None:
    if (
        not isinstance(value, dict)
        or value.get("unit") not in ("PT", "EMU")
        or not isinstance(value.get("magnitude"), int | float)
        or value["magnitude"] <= 0
    ):
        raise Invalid(f"{name} needs a positive magnitude and a unit (PT or EMU).")


def _element_properties(p: Presentation, properties: Any) -> str:
    if not isinstance(properties, dict):
        raise Invalid("elementProperties is required.")
    page = _existing(p, properties.get("pageObjectId"))
    if page.kind != "slide":
        raise Invalid(f"The page ({page.object_id}) is not a slide.")
    size = properties.get("size")
    if size is not None:
        _dimension(size.get("width"), "size.width")
        _dimension(size.get("height"), "size.height")
    transform = properties.get("transform")
    if transform is not None and transform.get("unit") not in ("PT", "EMU"):
        raise Invalid("transform needs a unit (PT or EMU).")
    return page.object_id


def _element_json(element: Element) -> dict[str, Any]:
    if element.kind == "table":
        return {
            "objectId": element.object_id,
            "table": {
                "rows": len(element.cells),
                "columns": len(element.cells[0]),
                "tableRows": [
                    {"tableCells": [_text_json(cell) for cell in row]} for row in element.cells
                ],
            },
        }
    shape: dict[str, Any] = {"shapeType": element.shape_type, **_text_json(element.text)}
    if element.placeholder:
        shape["placeholder"] = {"type": element.placeholder[0], "index": element.placeholder[1]}
    return {"objectId": element.object_id, "shape": shape}


def _text_json(text: str) -> dict[str, Any]:
    return {"text": {"textElements": [{"textRun": {"content": text + "\n"}}]}} if text else {}


def presentation_json(p: Presentation) -> dict[str, Any]:
    slides = []
    for slide_id in p.slides:
        slide = p.objects[slide_id]
        notes = p.objects[slide.notes_page or ""]
        slides.append(
            {
                "objectId": slide_id,
                "pageType": "SLIDE",
                "pageElements": [
                    _element_json(e) for e in p.objects.values() if e.page == slide_id
                ],
                "slideProperties": {
                    "layoutObjectId": f"layout_{slide.layout}",
                    "masterObjectId": "master_simple_light",
                    "notesPage": {
                        "objectId": notes.object_id,
                        "pageType": "NOTES",
                        "pageElements": [
                            _element_json(e)
                            for e in p.objects.values()
                            if e.page == notes.object_id
                        ],
                        "notesProperties": {"speakerNotesObjectId": notes.speaker_notes_id},
                    },
                },
            }
        )
    return {
        "presentationId": p.presentation_id,
        "title": p.title,
        "revisionId": str(p.revision),
        "locale": "en",
        "pageSize": {
            "width": {"magnitude": 9144000, "unit": "EMU"},
            "height": {"magnitude": 5143500, "unit": "EMU"},
        },
        "slides": slides,
        "layouts": [
            {"objectId": f"layout_{name}", "pageType": "LAYOUT", "layoutProperties": {"name": name}}
            for name in LAYOUTS
        ],
    }
