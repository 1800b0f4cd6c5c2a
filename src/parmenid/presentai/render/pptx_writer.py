"""The PPTX emitter: native, editable text boxes, shapes, tables and charts, placed where the
layout put them, on the slide layouts of our 16:9 base or of the brand kit's template.

Text boxes get the layout's size, font size and exact line spacing with wrapping on and
autofit off, so PowerPoint and LibreOffice wrap the text themselves into at most the lines the
layout measured. Titles and body text go into the slide layout's placeholders (a title is a
title for screen readers and the outline view); placeholders a slide does not use are removed.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE, PP_PLACEHOLDER
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE
from pptx.oxml import parse_xml
from pptx.oxml.ns import qn
from pptx.util import Emu, Pt

from parmenid.presentai.render.boxes import (
    EMU_PER_POINT,
    ChartBox,
    Fill,
    Page,
    Picture,
    TableBox,
    TextBox,
    TextStyle,
)
from parmenid.presentai.render.deck import BrandStyle
from parmenid.presentai.render.geometry import Geometry, default_geometry, template_geometry

_ALGN = {"left": "l", "center": "ctr", "right": "r"}
_NS = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
# characters XML 1.0 cannot carry
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ANCHOR = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE, "bottom": MSO_ANCHOR.BOTTOM}
_CHART = {
    "bar": XL_CHART_TYPE.BAR_CLUSTERED,
    "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "pie": XL_CHART_TYPE.PIE,
}
_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
_TEXT = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.SUBTITLE}
_P14 = "http://schemas.microsoft.com/office/powerpoint/2010/main"


def _emu(points: float) -> Emu:
    return Emu(round(points * EMU_PER_POINT))


def _rgb(color: str) -> RGBColor:
    value = color.lstrip("#")
    return RGBColor(int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))  # type: ignore[no-untyped-call]


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub("", text)


@lru_cache(maxsize=1)
def _default_base() -> bytes:
    """python-pptx's default template made 16:9: masters and layouts stretched to 13.333 in."""
    prs = Presentation()
    factor = 12192000 / prs.slide_width
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    parts = [prs.slide_master, *prs.slide_layouts]
    for part in parts:
        for shape in part.shapes:
            if shape._element.find(".//" + qn("a:xfrm")) is None or shape.left is None:
                continue
            shape.left = Emu(round(shape.left * factor))
            shape.width = Emu(round(shape.width * factor))
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _drop_slides(prs: Any) -> None:
    """Remove a template's own slides: the slide ids, their relationships (so the parts are
    not written), and the sections and custom shows that list them."""
    id_list = prs.slides._sldIdLst
    for slide_id in list(id_list):
        rel = slide_id.rId
        id_list.remove(slide_id)
        prs.part.drop_rel(rel)
    root = prs.part._element
    for sections in list(root.iter(f"{{{_P14}}}sectionLst")):
        extension = sections.getparent()  # the <p:ext> holding it: sections would be empty
        extension.getparent().remove(extension)
    for shows in root.findall(qn("p:custShowLst")):
        root.remove(shows)


def open_base(style: BrandStyle) -> tuple[Any, Geometry]:
    """The presentation slides are added to, and the geometry its layouts give."""
    if style.template:
        prs = Presentation(io.BytesIO(style.template))
        _drop_slides(prs)
        return prs, template_geometry(prs, style.default_layouts)
    return Presentation(io.BytesIO(_default_base())), default_geometry()


def geometry_for(style: BrandStyle) -> Geometry:
    return open_base(style)[1] if style.template else default_geometry()


class PptxWriter:
    def __init__(self, prs: Any, language: str) -> None:
        self.prs = prs
        self.lang = "ru-RU" if language.casefold().startswith("ru") else "en-US"
        self.layouts = {str(lay.name): lay for lay in prs.slide_layouts}

    def write(self, pages: list[Page]) -> bytes:
        for page in pages:
            self._page(page)
        out = io.BytesIO()
        self.prs.save(out)
        return out.getvalue()

    def _page(self, page: Page) -> None:
        slide = self.prs.slides.add_slide(self.layouts[page.slide_layout])
        if page.background:
            slide.background.fill.solid()
            slide.background.fill.fore_color.rgb = _rgb(page.background)
        title_ph = next(
            (ph for ph in slide.placeholders if ph.placeholder_format.type in _TITLES), None
        )
        text_phs = sorted(
            (ph for ph in slide.placeholders if ph.placeholder_format.type in _TEXT),
            key=lambda ph: (round((ph.left or 0) / 127000), ph.top or 0),
        )
        slots = {
            "title": title_ph,
            "subtitle": text_phs[0] if text_phs else None,
            "body": text_phs[0] if text_phs else None,
            "body2": text_phs[1] if len(text_phs) > 1 else None,
        }
        used: list[Any] = []  # the placeholders' elements that got text
        fills = 0
        for element in page.elements:
            if isinstance(element, Fill):
                shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *map(Emu, element.rect.emu()))
                shape.fill.solid()
                shape.fill.fore_color.rgb = _rgb(element.color)
                shape.line.fill.background()
                shape.shadow.inherit = False
                tree = slide.shapes._spTree
                tree.remove(shape._element)
                tree.insert(2 + fills, shape._element)  # behind everything else
                fills += 1
            elif isinstance(element, Picture):
                slide.shapes.add_picture(io.BytesIO(element.data), *map(Emu, element.rect.emu()))
            elif isinstance(element, TextBox):
                target = slots.get(element.placeholder) if element.placeholder else None
                if target is not None and not any(target._element is e for e in used):
                    used.append(target._element)
                    x, y, w, h = element.rect.emu()
                    target.left, target.top, target.width, target.height = (
                        Emu(x),
                        Emu(y),
                        Emu(w),
                        Emu(h),
                    )
                    self._text(target.text_frame, element)
                else:
                    box = slide.shapes.add_textbox(*map(Emu, element.rect.emu()))
                    self._text(box.text_frame, element)
            elif isinstance(element, TableBox):
                self._table(slide, element)
            elif isinstance(element, ChartBox):
                self._chart(slide, element)
        for ph in list(slide.placeholders):
            if not any(ph._element is e for e in used):
                ph._element.getparent().remove(ph._element)
        if page.notes:
            slide.notes_slide.notes_text_frame.text = page.notes

    # ---- text ---------------------------------------------------------------------------
    # Paragraphs are written as DrawingML directly (python-pptx's property-by-property API
    # costs more than the rest of the render); every property the layout computed is explicit.

    def _text(self, frame: Any, box: TextBox) -> None:
        frame.word_wrap = True
        frame.auto_size = MSO_AUTO_SIZE.NONE
        inset = _emu(box.inset)
        frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = inset
        frame.vertical_anchor = _ANCHOR[box.anchor]
        paragraphs = "".join(
            self._paragraph_xml(
                [(run.text, run.style, run.superscript) for run in para.runs],
                size=box.size,
                align=box.align,
                line_height=box.line_height,
                before=0.0 if index == 0 else box.paragraph_gap,
                indent=box.indent if para.indented else 0.0,
                hanging=not para.bullet,
                bullet=(box.bullet_color or "") if para.bullet else None,
            )
            for index, para in enumerate(box.paragraphs)
        )
        body = frame._txBody
        for old in body.findall(qn("a:p")):
            body.remove(old)
        for new in parse_xml(f"<a:txBody {_NS}>{paragraphs}</a:txBody>"):
            body.append(new)

    def _paragraph_xml(
        self,
        runs: list[tuple[str, TextStyle, bool]],
        *,
        size: float,
        align: str,
        line_height: float,
        before: float,
        indent: float,
        bullet: str | None,
        hanging: bool = True,
    ) -> str:
        """A paragraph; `bullet` is None for no bullet, else the bullet's color ("": the
        template's)."""
        margin = round(indent * EMU_PER_POINT)
        first = 0 if hanging and bullet is None else -margin  # the bullet hangs left
        if bullet is None:
            marks = "<a:buNone/>"
        else:
            color = f'<a:buClr><a:srgbClr val="{bullet.lstrip("#").upper()}"/></a:buClr>'
            marks = (color if bullet else "") + '<a:buFont typeface="Arial"/><a:buChar char="•"/>'
        head = (
            f'<a:pPr marL="{margin}" indent="{first}" algn="{_ALGN[align]}">'
            f'<a:lnSpc><a:spcPts val="{round(line_height * 100)}"/></a:lnSpc>'
            f'<a:spcBef><a:spcPts val="{round(before * 100)}"/></a:spcBef>'
            f'<a:spcAft><a:spcPts val="0"/></a:spcAft>{marks}</a:pPr>'
        )
        body = "".join(self._run_xml(text, style, size, lift) for text, style, lift in runs)
        end = self._properties("a:endParaRPr", runs[0][1], size, False) if runs else ""
        return f"<a:p>{head}{body}{end}</a:p>"

    def _properties(self, tag: str, style: TextStyle, size: float, superscript: bool) -> str:
        # measured as written: no capitals or letter spacing a master may apply
        attributes = (
            f'lang="{self.lang}" sz="{round(size * 100)}" b="{1 if style.bold else 0}" '
            f'cap="none" spc="0"' + (' baseline="30000"' if superscript else "")
        )
        inner = ""
        if style.color:
            inner += (
                f'<a:solidFill><a:srgbClr val="{style.color.lstrip("#").upper()}"/></a:solidFill>'
            )
        if style.family:
            family = quoteattr(_printable(style.family))
            inner += f"<a:latin typeface={family}/><a:cs typeface={family}/>"
        return f"<{tag} {attributes}>{inner}</{tag}>"

    def _run_xml(self, text: str, style: TextStyle, size: float, superscript: bool) -> str:
        properties = self._properties("a:rPr", style, size, superscript)
        return f"<a:r>{properties}<a:t>{escape(_printable(text))}</a:t></a:r>"

    # ---- tables and charts --------------------------------------------------------------

    def _table(self, slide: Any, box: TableBox) -> None:
        rows, cols = len(box.cells), len(box.column_widths)
        frame = slide.shapes.add_table(rows, cols, *map(Emu, box.rect.emu()))
        table = frame.table
        table.first_row = True
        table.horz_banding = False
        for c, width in enumerate(box.column_widths):
            table.columns[c].width = _emu(width)
        pad = round(box.padding * EMU_PER_POINT)
        margins = f'marL="{pad}" marR="{pad}" marT="{pad}" marB="{pad}" anchor="ctr"'
        for r, (row, tr) in enumerate(zip(box.cells, table._tbl.tr_lst, strict=True)):
            tr.set("h", str(round(box.row_heights[r] * EMU_PER_POINT)))
            style = box.header if r == 0 else box.body
            fill = box.header_fill if r == 0 else (box.band_fill if r % 2 == 0 else box.fill)
            color = fill.lstrip("#").upper()
            cells = []
            for content in row:
                paragraph = self._paragraph_xml(
                    [(content.text, style, False)],
                    size=box.size,
                    align="left",
                    line_height=box.line_height,
                    before=0.0,
                    indent=0.0,
                    bullet=None,
                )
                cells.append(
                    f'<a:tc><a:txBody><a:bodyPr wrap="square"/><a:lstStyle/>{paragraph}'
                    f'</a:txBody><a:tcPr {margins}><a:solidFill><a:srgbClr val="{color}"/>'
                    "</a:solidFill></a:tcPr></a:tc>"
                )
            for old in tr.findall(qn("a:tc")):
                tr.remove(old)
            for new in parse_xml(f"<a:tr {_NS}>{''.join(cells)}</a:tr>"):
                tr.append(new)

    def _chart(self, slide: Any, box: ChartBox) -> None:
        spec = box.chart
        data = CategoryChartData()  # type: ignore[no-untyped-call]
        data.categories = list(spec.categories)
        series = spec.series[:1] if spec.kind == "pie" else spec.series
        for s in series:
            values = [float(v) for v in s.values[: len(spec.categories)]]
            values += [0.0] * (len(spec.categories) - len(values))
            data.add_series(s.name, values)  # type: ignore[no-untyped-call]
        frame = slide.shapes.add_chart(_CHART[spec.kind], *map(Emu, box.rect.emu()), data)
        chart = frame.chart
        chart.font.size = Pt(box.font_size)
        if box.style.family:
            chart.font.name = box.style.family
        if box.style.color:
            chart.font.color.rgb = _rgb(box.style.color)
        chart.has_title = box.show_title
        if box.show_title:
            chart.chart_title.text_frame.text = spec.title
        chart.has_legend = spec.kind == "pie" or len(series) > 1
        if chart.has_legend:
            chart.legend.position = XL_LEGEND_POSITION.BOTTOM
            chart.legend.include_in_layout = False
        plot = chart.plots[0]
        if spec.kind == "pie":
            plot.has_data_labels = True
            plot.data_labels.show_percentage = True
            plot.data_labels.show_value = False
            plot.data_labels.number_format = "0%"
            plot.data_labels.number_format_is_linked = False
            for j, point in enumerate(plot.series[0].points):
                point.format.fill.solid()
                point.format.fill.fore_color.rgb = _rgb(box.palette[j % len(box.palette)])
            return
        for i, s in enumerate(plot.series):
            color = _rgb(box.palette[i % len(box.palette)])
            if spec.kind == "line":
                s.format.line.color.rgb = color
                s.format.line.width = Pt(2.5)
                s.smooth = False
                s.marker.format.fill.solid()
                s.marker.format.fill.fore_color.rgb = color
            else:
                s.format.fill.solid()
                s.format.fill.fore_color.rgb = color
        gridlines = chart.value_axis.major_gridlines.format.line
        gridlines.color.rgb = _rgb("#D1D5DB")
        chart.value_axis.format.line.fill.background()


def write_pptx(prs: Any, pages: list[Page], language: str) -> bytes:
    return PptxWriter(prs, language).write(pages)
