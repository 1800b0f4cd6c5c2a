"""The PDF emitter: draws the layout's lines at the layout's positions with the shipped faces
(embedded as subsets, so Cyrillic shows and can be copied), charts with reportlab graphics."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from reportlab.graphics import renderPDF  # type: ignore[import-untyped]
from reportlab.graphics.charts.barcharts import (  # type: ignore[import-untyped]
    HorizontalBarChart,
    VerticalBarChart,
)
from reportlab.graphics.charts.legends import Legend  # type: ignore[import-untyped]
from reportlab.graphics.charts.linecharts import HorizontalLineChart  # type: ignore[import-untyped]
from reportlab.graphics.charts.piecharts import Pie  # type: ignore[import-untyped]
from reportlab.graphics.shapes import Drawing, String  # type: ignore[import-untyped]
from reportlab.lib.colors import HexColor  # type: ignore[import-untyped]
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from parmenid.presentai.render.boxes import (
    ChartBox,
    Fill,
    Page,
    PageSize,
    Picture,
    TableBox,
    TextBox,
)
from parmenid.presentai.render.fonts import face_named, register
from parmenid.presentai.render.measure import Line, line_width, unit_width

SUPERSCRIPT_SCALE = 0.65


def _baseline(line_top: float, line_height: float, size: float, face: str) -> float:
    """The glyph box (ascent + descent) centered in the line's pitch."""
    f = face_named(face)
    return line_top + (line_height - (f.ascent + f.descent) * size) / 2 + f.ascent * size


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", "\u202f")
    return f"{value:g}"


class PdfWriter:
    def __init__(self, size: PageSize, background: str, title: str) -> None:
        register()
        self.size = size
        self.background = background
        self.out = io.BytesIO()
        self.canvas = Canvas(self.out, pagesize=(size.width, size.height), pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setCreator("Parmenid")

    def y(self, top: float) -> float:
        return self.size.height - top

    def write(self, pages: Sequence[Page]) -> bytes:
        for page in pages:
            self._page(page)
            self.canvas.showPage()
        self.canvas.save()
        return self.out.getvalue()

    def _page(self, page: Page) -> None:
        c = self.canvas
        c.setFillColor(HexColor(page.background or self.background))
        c.rect(0, 0, self.size.width, self.size.height, stroke=0, fill=1)
        for element in page.elements:
            if isinstance(element, Fill):
                c.setFillColor(HexColor(element.color))
                r = element.rect
                c.rect(r.x, self.y(r.bottom), r.w, r.h, stroke=0, fill=1)
            elif isinstance(element, Picture):
                r = element.rect
                reader = ImageReader(io.BytesIO(element.data))
                c.drawImage(reader, r.x, self.y(r.bottom), r.w, r.h, mask="auto")
            elif isinstance(element, TextBox):
                self._text(element)
            elif isinstance(element, TableBox):
                self._table(element)
            elif isinstance(element, ChartBox):
                self._chart(element)

    def _line(
        self, line: Line, runs: Sequence[Any], x: float, baseline: float, size: float
    ) -> None:
        c = self.canvas
        for piece in line:
            run = runs[piece.run]
            style = run.style
            c.setFillColor(HexColor(style.color or style.fallback_color))
            drawn, lift = size, 0.0
            if getattr(run, "superscript", False):
                drawn, lift = size * SUPERSCRIPT_SCALE, size * 0.33
            if piece.text.strip():
                c.setFont(style.face, drawn)
                c.drawString(x, self.y(baseline) + lift, piece.text)
            x += piece.width

    def _text(self, box: TextBox) -> None:
        r = box.rect
        room = r.h - 2 * box.inset
        slack = room - box.text_height()
        top = r.y + box.inset + {"top": 0.0, "middle": slack / 2, "bottom": slack}[box.anchor]
        left = r.x + box.inset
        width = r.w - 2 * box.inset
        for index, para in enumerate(box.paragraphs):
            if index:
                top += box.paragraph_gap
            indent = box.indent if para.indented else 0.0
            face = para.runs[0].style.face if para.runs else "DejaVuSans"
            for number, line in enumerate(para.lines):
                baseline = _baseline(top, box.line_height, box.size, face)
                if para.bullet and number == 0:
                    style = para.runs[0].style
                    self.canvas.setFillColor(HexColor(box.bullet_color or style.fallback_color))
                    self.canvas.setFont(style.face, box.size)
                    self.canvas.drawString(left, self.y(baseline), "•")
                spare = width - indent - line_width(line)
                shift = {"left": 0.0, "center": spare / 2, "right": spare}[box.align]
                self._line(line, para.runs, left + indent + shift, baseline, box.size)
                top += box.line_height

    def _table(self, box: TableBox) -> None:
        c = self.canvas
        y = box.rect.y
        for r, (row, height) in enumerate(zip(box.cells, box.row_heights, strict=True)):
            style = box.header if r == 0 else box.body
            fill = box.header_fill if r == 0 else (box.band_fill if r % 2 == 0 else box.fill)
            x = box.rect.x
            for cell, width in zip(row, box.column_widths, strict=True):
                c.setFillColor(HexColor(fill))
                c.setStrokeColor(HexColor("#FFFFFF"))
                c.setLineWidth(1)
                c.rect(x, self.y(y + height), width, height, stroke=1, fill=1)
                text_h = len(cell.lines) * box.line_height
                top = y + (height - text_h) / 2
                for line in cell.lines:
                    baseline = _baseline(top, box.line_height, box.size, style.face)
                    c.setFillColor(HexColor(style.color or style.fallback_color))
                    c.setFont(style.face, box.size)
                    c.drawString(x + box.padding, self.y(baseline), "".join(p.text for p in line))
                    top += box.line_height
                x += width
            y += height

    def _chart(self, box: ChartBox) -> None:
        drawing = chart_drawing(box)
        renderPDF.draw(drawing, self.canvas, box.rect.x, self.y(box.rect.bottom))


def chart_drawing(box: ChartBox) -> Any:
    """A reportlab drawing of the chart, the size of its box."""
    spec, r = box.chart, box.rect
    face = box.style.face
    size = box.font_size
    ink = HexColor(box.style.color or box.style.fallback_color)
    colors = [HexColor(c) for c in box.palette]
    drawing = Drawing(r.w, r.h)
    top = r.h
    if box.show_title:
        top -= size * 1.8
        drawing.add(
            String(
                r.w / 2,
                top + size * 0.4,
                spec.title,
                fontName=face,
                fontSize=size * 1.1,
                fillColor=ink,
                textAnchor="middle",
            )
        )
    series = spec.series[:1] if spec.kind == "pie" else spec.series
    names = list(spec.categories)
    legend_needed = spec.kind == "pie" or len(series) > 1
    bottom = size * 2.2 if legend_needed else 0.0
    if legend_needed:
        legend = Legend()
        legend.fontName, legend.fontSize = face, size * 0.9
        legend.fillColor = ink
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.deltax = None
        legend.dx = legend.dy = size * 0.7
        labels = names if spec.kind == "pie" else [s.name for s in series]
        pairs = [(colors[i % len(colors)], label) for i, label in enumerate(labels)]
        legend.colorNamePairs = pairs
        widths = [unit_width(label, face) * size * 0.9 + size * 2.2 for label in labels]
        legend.x = max(0.0, (r.w - sum(widths)) / 2)
        legend.y = size * 1.1
        legend.variColumn = 1
        drawing.add(legend)
    values = [
        [float(v) for v in (s.values[: len(names)] + [0.0] * (len(names) - len(s.values)))]
        for s in series
    ]
    if spec.kind == "pie":
        pie = Pie()
        diameter = min(r.w, top - bottom) * 0.85
        pie.x, pie.y = (r.w - diameter) / 2, bottom + (top - bottom - diameter) / 2
        pie.width = pie.height = diameter
        data = [max(0.0, v) for v in values[0]]
        total = sum(data) or 1.0
        pie.data = data
        pie.labels = [f"{100 * v / total:.0f}%" for v in data]
        pie.simpleLabels = 1
        pie.slices.fontName, pie.slices.fontSize = face, size
        pie.slices.fontColor = HexColor("#FFFFFF")
        pie.slices.labelRadius = 0.65
        pie.slices.strokeColor = HexColor("#FFFFFF")
        for i in range(len(data)):
            pie.slices[i].fillColor = colors[i % len(colors)]
        drawing.add(pie)
        return drawing
    label_w = max((unit_width(n, face) * size for n in names), default=0.0)
    value_w = max((unit_width(_number(v), face) * size for row in values for v in row), default=0)
    if spec.kind == "bar":
        chart: Any = HorizontalBarChart()
        left = min(label_w + size, r.w * 0.35)
        chart.x, chart.y = left, bottom + size * 2
        chart.width, chart.height = r.w - left - size, top - chart.y - size * 0.5
    else:
        chart = HorizontalLineChart() if spec.kind == "line" else VerticalBarChart()
        left = value_w + size
        slot = (r.w - left - size) / max(1, len(names))
        crowded = label_w > slot * 0.95
        below = size * 1.6 + (min(label_w, r.h * 0.3) * 0.55 if crowded else 0.0)
        chart.x, chart.y = left, bottom + below
        chart.width, chart.height = r.w - left - size, top - chart.y - size * 0.5
        if crowded:
            chart.categoryAxis.labels.angle = 35
            chart.categoryAxis.labels.boxAnchor = "ne"
    chart.data = values
    chart.categoryAxis.categoryNames = names
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = face, size
        axis.labels.fillColor = ink
        axis.strokeColor = HexColor("#9CA3AF")
    chart.valueAxis.labelTextFormat = _number
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = HexColor("#D1D5DB")
    low = min((v for row in values for v in row), default=0.0)
    chart.valueAxis.valueMin = min(0.0, low)
    paint: Callable[[int, Any], None]
    if spec.kind == "line":

        def paint(i: int, color: Any) -> None:
            chart.lines[i].strokeColor = color
            chart.lines[i].strokeWidth = 2.5

    else:

        def paint(i: int, color: Any) -> None:
            chart.bars[i].fillColor = color
            chart.bars[i].strokeColor = None

    for i in range(len(values)):
        paint(i, colors[i % len(colors)])
    drawing.add(chart)
    return drawing


def write_pdf(pages: Sequence[Page], size: PageSize, background: str, title: str) -> bytes:
    return PdfWriter(size, background, title).write(pages)
