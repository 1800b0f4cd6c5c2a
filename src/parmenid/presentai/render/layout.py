"""The layout computation: a deck becomes pages of positioned, measured elements.

Rules (the limits are the `Sizes` below):

* Every text is wrapped with the metrics of the face that sets it, at the largest whole point
  size within its limits at which it fits its box: titles 36→24 pt (cover 44→28, section
  40→24), body text 24→14 pt, bullets beside a table or chart 20→12 pt, quotes 32→18 pt,
  tables 16→10 pt (first at a size that breaks no word), footnotes 10→8 pt.
* Body text that does not fit at its smallest size continues on continuation slides titled
  "<title> (cont.)" ("(продолжение)" in Russian decks): the bullets are spread evenly over as
  many slides as they need at the smallest size; a single bullet too long for a slide is cut
  between words and goes on, without a new bullet, on the next. Table rows continue the same
  way, the header repeated. Titles and subtitles have nowhere to continue: they end in "…".
* Source attribution: "footnotes" numbers the distinct citations of a slide, marks each bullet
  with its number and lists them at the bottom of the slide; "notes" appends them to the speaker
  notes. The citation of a table's or chart's data comes first, unnumbered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from parmenid.presentai.render import images
from parmenid.presentai.render.boxes import (
    Align,
    Anchor,
    ChartBox,
    Element,
    Fill,
    Page,
    Picture,
    PlaceholderRole,
    Rect,
    Run,
    TableBox,
    TextBox,
    TextStyle,
)
from parmenid.presentai.render.deck import Deck, DeckBullet, DeckSlide, Layout, Table
from parmenid.presentai.render.fitting import (
    BoxSpec,
    ParaSpec,
    Sizes,
    fit_or_truncate,
    fit_table,
    fits,
    largest,
    set_text,
)
from parmenid.presentai.render.geometry import Frames, Geometry
from parmenid.presentai.render.styles import deck_words, mix, on_color, text_styles

TITLE = Sizes(36, 24)
COVER_TITLE = Sizes(44, 28)
SECTION_TITLE = Sizes(40, 24)
SUBTITLE = Sizes(24, 14)
BODY = Sizes(24, 14)
QUOTE = Sizes(32, 18)
AUTHOR = Sizes(20, 14)
TABLE = Sizes(16, 10)
FOOTNOTES = Sizes(10, 8)
FOOTER = 10.0
CITATION_CHARS = 90  # a longer citation is cut with "…"
CELL_CHARS = 200
MAX_COLUMNS = 12
GAP = 10.0  # between the body and its footnotes


def _clean(text: str) -> str:
    return " ".join(text.split())


def _cut(text: str, limit: int) -> str:
    text = _clean(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _union(rects: list[Rect]) -> Rect:
    left, top = min(r.x for r in rects), min(r.y for r in rects)
    return Rect(left, top, max(r.right for r in rects) - left, max(r.bottom for r in rects) - top)


@dataclass(frozen=True)
class _Continued(DeckBullet):
    """The rest of a bullet too long for one slide: it goes on without a bullet of its own."""


@dataclass
class _BodyFit:
    boxes: list[TextBox]
    footnotes: TextBox | None
    bottom: float  # where the body areas end above the footnotes
    rest: list[DeckBullet]
    sources: list[str]


class DeckLayout:
    """Lays out one deck on one geometry. `pages()` is the result."""

    def __init__(self, deck: Deck, geometry: Geometry) -> None:
        self.deck = deck
        self.geometry = geometry
        self.brand = deck.style
        self.templated = geometry.templated
        self.styles = text_styles(deck.style, geometry.templated)
        self.words = deck_words(deck.language)
        self.logo = images.normalized(deck.style.logo) if deck.style.logo else None
        self.result: list[Page] = []

    def pages(self) -> list[Page]:
        for slide in self.deck.slides:
            self._slide(slide)
        return self.result

    # ---- slides -------------------------------------------------------------------------

    def _kind(self, slide: DeckSlide) -> Layout:
        kind = slide.layout
        if kind == "image_text" and not (slide.image and images.normalized(slide.image)):
            return "bullets"
        if kind == "table" and not (slide.table and slide.table.columns):
            return "bullets"
        if kind == "chart" and not (slide.chart and slide.chart.categories and slide.chart.series):
            return "bullets"
        return kind

    def _slide(self, slide: DeckSlide) -> None:
        kind = self._kind(slide)
        if kind in ("title", "section", "closing"):
            self._statement(slide, kind)
        elif kind == "table":
            self._table(slide)
        elif kind == "chart":
            self._chart(slide)
        else:
            self._content(slide, kind, slide.bullets, continuation=0)

    def _add(
        self,
        slide: DeckSlide,
        kind: Layout,
        elements: list[Element],
        notes: str,
        continuation: int,
        background: str | None,
    ) -> None:
        frames = self.geometry.frames[kind]
        self.result.append(
            Page(
                number=len(self.result) + 1,
                slide=slide,
                kind=kind,
                slide_layout=frames.slide_layout,
                background=None if self.templated else background,
                elements=tuple(elements),
                notes=notes,
                continuation=continuation,
            )
        )

    def _notes(
        self, slide: DeckSlide, continuation: int, sources: list[str], *, always: bool = False
    ) -> str:
        parts = [slide.speaker_notes.strip()] if continuation == 0 and slide.speaker_notes else []
        if sources and (always or self.brand.attribution == "notes"):
            parts.append(f"{self.words['sources']}: " + "; ".join(sources))
        return "\n\n".join(p for p in parts if p)

    def _logo(self, box: Rect) -> Picture | None:
        if self.logo is None:
            return None
        return Picture("logo", images.fit(self.logo, box, align="right"), self.logo)

    def _footer(self, frames: Frames, on_primary: bool) -> list[Element]:
        style = self.styles.on_primary_body if on_primary else self.styles.small
        number = len(self.result) + 1
        out: list[Element] = []
        spec = BoxSpec("slide_number", frames.number, inset=2, align="right", anchor="middle")
        out.append(fit_or_truncate(spec, [ParaSpec((Run(str(number), style),))], Sizes(FOOTER, 8)))
        if self.brand.footer_text:
            spec = BoxSpec("footer", frames.footer, inset=2, anchor="middle")
            text = _clean(self.brand.footer_text)
            out.append(fit_or_truncate(spec, [ParaSpec((Run(text, style),))], Sizes(FOOTER, 8)))
        return out

    def _statement(self, slide: DeckSlide, kind: Layout) -> None:
        """Title, section and closing slides: a big title and a few lines under it."""
        frames = self.geometry.frames[kind]
        width, height = self.geometry.size.width, self.geometry.size.height
        cover = kind == "title"
        elements: list[Element] = []
        title_rect, sub_rect = frames.title, frames.body[0] if frames.body else None
        background = self.brand.background
        logo_box = self.geometry.logo
        if not self.templated:
            if cover:
                band = Rect(0, 0, width, title_rect.bottom + 20)
                elements.append(Fill(band, self.brand.primary))
                elements.append(Fill(Rect(0, band.bottom, width, 8), self.brand.accent))
                logo_box = Rect(logo_box.x, height - 24 - logo_box.h, logo_box.w, logo_box.h)
            else:
                background = self.brand.primary
                left = (
                    title_rect.x + (title_rect.w - 120) / 2 if kind == "closing" else title_rect.x
                )
                bar = Rect(left, title_rect.bottom + 6, 120, 6)
                elements.append(Fill(bar, self.brand.accent))
        logo = self._logo(logo_box)
        if logo is not None:
            elements.append(logo)
            if (
                sub_rect is not None
                and logo.rect.y < sub_rect.bottom
                and logo.rect.bottom > sub_rect.y
            ):
                sub_rect = replace(sub_rect, w=max(sub_rect.w / 2, logo.rect.x - 16 - sub_rect.x))
            if logo.rect.y < title_rect.bottom and logo.rect.bottom > title_rect.y:
                title_rect = replace(
                    title_rect, w=max(title_rect.w / 2, logo.rect.x - 16 - title_rect.x)
                )
        light = not self.templated
        title_style = self.styles.on_primary if light else self.styles.heading
        sub_style = self.styles.on_primary_body if light and not cover else self.styles.body
        align: Align = "center" if kind == "closing" else "left"
        sizes = COVER_TITLE if cover else SECTION_TITLE
        title = _clean(slide.title) or _clean(self.deck.title)
        spec = BoxSpec(
            "title", title_rect, inset=6, align=align, anchor="bottom", placeholder="title"
        )
        elements.append(fit_or_truncate(spec, [ParaSpec((Run(title, title_style),))], sizes))
        lines = [_clean(b.text) for b in slide.bullets if _clean(b.text)]
        if cover and not lines and self.deck.subtitle:
            lines = [_clean(self.deck.subtitle)]
        sources = [_cut(b.citation, CITATION_CHARS) for b in slide.bullets if b.citation]
        if lines and sub_rect is not None:
            spec = BoxSpec(
                "subtitle",
                sub_rect,
                inset=6,
                align=align,
                anchor="top",
                placeholder="subtitle",
                gap_factor=0.3,
            )
            paras = [ParaSpec((Run(line, sub_style),)) for line in lines]
            elements.append(fit_or_truncate(spec, paras, SUBTITLE))
        if not cover:
            elements.extend(self._footer(frames, on_primary=not self.templated))
        # no room for footnotes on these slides: their sources go to the notes either way
        notes = self._notes(slide, 0, list(dict.fromkeys(sources)), always=True)
        self._add(slide, kind, elements, notes, 0, background)

    def _chrome(self, slide: DeckSlide, kind: Layout, continuation: int) -> list[Element]:
        """Title, accent bar, logo and footer of a content slide."""
        frames = self.geometry.frames[kind]
        elements: list[Element] = []
        title_rect = frames.title
        logo = self._logo(self.geometry.logo)
        if logo is not None:
            elements.append(logo)
            if logo.rect.y < title_rect.bottom and logo.rect.bottom > title_rect.y:
                title_rect = replace(
                    title_rect, w=max(title_rect.w / 2, logo.rect.x - 12 - title_rect.x)
                )
        title = _clean(slide.title) + (self.words["cont"] if continuation else "")
        spec = BoxSpec("title", title_rect, inset=4, anchor="bottom", placeholder="title")
        elements.append(
            fit_or_truncate(spec, [ParaSpec((Run(title, self.styles.heading),))], TITLE)
        )
        if not self.templated:
            bar = Rect(title_rect.x + 4, title_rect.bottom + 4, 72, 5)
            elements.append(Fill(bar, self.brand.accent))
        elements.extend(self._footer(frames, on_primary=False))
        return elements

    # ---- body text ----------------------------------------------------------------------

    def _paras(
        self, bullets: list[DeckBullet], bulleted: bool, style: TextStyle
    ) -> tuple[list[ParaSpec], list[str]]:
        """Paragraphs with footnote marks, and the distinct citations in order."""
        citations: list[str] = []
        paras: list[ParaSpec] = []
        for bullet in bullets:
            runs = [Run(_clean(bullet.text), style)]
            if bullet.citation:
                citation = _cut(bullet.citation, CITATION_CHARS)
                if citation not in citations:
                    citations.append(citation)
                if self.brand.attribution == "footnotes":
                    mark = f"[{citations.index(citation) + 1}]"
                    runs.append(Run(mark, self.styles.mark, superscript=True))
            going_on = isinstance(bullet, _Continued)
            paras.append(ParaSpec(tuple(runs), bulleted and not going_on, bulleted and going_on))
        return paras, citations

    def _footnotes(
        self, area: Rect, citations: list[str], data_source: str | None
    ) -> TextBox | None:
        if self.brand.attribution != "footnotes" or not (citations or data_source):
            return None
        style = self.styles.small
        entries: list[str] = []
        if data_source and data_source not in citations:
            entries.append(f"{self.words['source']}: {data_source}")
        entries += [f"[{n}] {citation}" for n, citation in enumerate(citations, 1)]
        runs = [Run(" · ".join(entries), style)]
        rect = Rect(area.x, area.y, area.w, area.h * 0.4)
        spec = BoxSpec("footnotes", rect, inset=2, anchor="bottom")
        box = fit_or_truncate(spec, [ParaSpec(tuple(runs))], FOOTNOTES)
        height = box.text_height() + 2 * box.inset
        return replace(box, rect=Rect(area.x, area.bottom - height, area.w, height))

    def _attempt(
        self,
        bullets: list[DeckBullet],
        rects: list[Rect],
        *,
        bulleted: bool,
        sizes: Sizes,
        anchor: Anchor,
        data_source: str | None,
        style: TextStyle,
        notes_area: Rect | None,
        roles: tuple[PlaceholderRole, ...],
    ) -> _BodyFit | None:
        """`bullets` set in `rects` (split into columns) above their footnotes, or None."""
        paras, citations = self._paras(bullets, bulleted, style)
        area = notes_area or _union(rects)
        footnotes = self._footnotes(area, citations, data_source)
        bottom = footnotes.rect.y - GAP if footnotes is not None else area.bottom
        columns = [replace(r, h=min(r.bottom, bottom) - r.y) for r in rects]
        if not paras:
            return _BodyFit([], footnotes, bottom, [], citations)
        if any(c.h <= 0 for c in columns):
            return None
        share = -(-len(paras) // len(columns))
        groups = [paras[i * share : (i + 1) * share] for i in range(len(columns))]
        groups = [g for g in groups if g]

        def at(size: float) -> _BodyFit | None:
            boxes = [
                set_text(
                    BoxSpec(
                        "body",
                        columns[i],
                        inset=4,
                        anchor=anchor,
                        placeholder=roles[i] if i < len(roles) else None,
                        bullet_color=self.styles.mark.color,
                    ),
                    group,
                    size,
                )
                for i, group in enumerate(groups)
            ]
            if all(fits(b) for b in boxes):
                return _BodyFit(boxes, footnotes, bottom, [], citations)
            return None

        return largest(sizes, at)

    def _fit_body(
        self,
        bullets: list[DeckBullet],
        rects: list[Rect],
        *,
        bulleted: bool = True,
        sizes: Sizes = BODY,
        anchor: Anchor = "top",
        data_source: str | None = None,
        style: TextStyle | None = None,
        notes_area: Rect | None = None,
        roles: tuple[PlaceholderRole, ...] = ("body", "body2"),
    ) -> _BodyFit:
        """All the bullets at the largest size that fits; else, if they need n slides at the
        smallest size, the first 1/n of them (so continuation slides come out even), or the
        first words of a bullet too long for a slide. The rest is in `rest`."""
        style = style or self.styles.body

        def attempt(chunk: list[DeckBullet], s: Sizes) -> _BodyFit | None:
            return self._attempt(
                chunk,
                rects,
                bulleted=bulleted,
                sizes=s,
                anchor=anchor,
                data_source=data_source,
                style=style,
                notes_area=notes_area,
                roles=roles,
            )

        whole = attempt(bullets, sizes)
        if whole is not None:
            return whole
        smallest = Sizes(sizes.smallest, sizes.smallest)

        def most(chunk: list[DeckBullet]) -> int:
            """How many of the first bullets of `chunk` fit at the smallest size."""
            count = len(chunk)
            while count > 0 and attempt(chunk[:count], smallest) is None:
                count -= 1
            return count

        count = most(bullets)
        if count > 0:
            slides, left = 1, bullets[count:]
            while left and slides < len(bullets):
                taken = max(1, most(left))
                slides, left = slides + 1, left[taken:]
            count = min(count, -(-len(bullets) // slides))
            done = attempt(bullets[:count], sizes)
            assert done is not None
            done.rest = bullets[count:]
            return done
        # One bullet longer than a slide: the most words that fit stay.
        first = bullets[0]
        words = _clean(first.text).split()
        low, high = 0, len(words) - 1
        while low < high:
            mid = (low + high + 1) // 2
            head = replace(first, text=" ".join(words[:mid]))
            if attempt([head], smallest) is not None:
                low = mid
            else:
                high = mid - 1
        if low == 0:  # not a word fits (a degenerate template): nothing more can be shown
            empty = attempt([], sizes)
            assert empty is not None
            return empty
        done = attempt([replace(first, text=" ".join(words[:low]))], sizes)
        assert done is not None
        rest = _Continued(" ".join(words[low:]), first.citation)
        done.rest = [rest, *bullets[1:]]
        return done

    def _body_elements(self, fit: _BodyFit) -> list[Element]:
        out: list[Element] = list(fit.boxes)
        if fit.footnotes is not None:
            out.append(fit.footnotes)
        return out

    def _content(
        self, slide: DeckSlide, kind: Layout, bullets: list[DeckBullet], continuation: int
    ) -> None:
        """Bullets, two columns, quote, image with text: body text that may continue."""
        frames = self.geometry.frames[kind]
        elements = self._chrome(slide, kind, continuation)
        rects = list(frames.body)
        if kind == "bullets":
            fit = self._fit_body(bullets, rects[:1])
        elif kind == "two_columns":
            fit = self._fit_body(bullets, rects[:2])
        elif kind == "image_text":
            image = images.normalized(slide.image) if slide.image else None
            if image is not None and continuation == 0:
                elements.append(Picture("image", images.fit(image, rects[0]), image))
            fit = self._fit_body(bullets, rects[1:2], roles=("body2",))
        else:  # quote
            fit = self._quote(slide, rects[0], bullets, continuation, elements)
        elements.extend(self._body_elements(fit))
        self._add(
            slide,
            kind,
            elements,
            self._notes(slide, continuation, fit.sources),
            continuation,
            self.brand.background,
        )
        if fit.rest:
            follow: Layout = "two_columns" if kind == "two_columns" else "bullets"
            self._content(slide, follow, fit.rest, continuation + 1)

    def _quote(
        self,
        slide: DeckSlide,
        rect: Rect,
        bullets: list[DeckBullet],
        continuation: int,
        elements: list[Element],
    ) -> _BodyFit:
        """The quote's text in the middle, its author under it on the right, footnotes last."""
        author = _clean(slide.quote_author or "")
        _, citations = self._paras(bullets, False, self.styles.body)
        notes = self._footnotes(rect, citations, None)
        text_rect = replace(rect, h=(notes.rect.y - GAP if notes else rect.bottom) - rect.y)
        if author:
            height = AUTHOR.largest * 1.2 + 12
            spec = BoxSpec(
                "author",
                Rect(rect.x, text_rect.bottom - height, rect.w, height),
                inset=4,
                align="right",
                anchor="middle",
            )
            paras = [ParaSpec((Run("— " + author, self.styles.body),))]
            elements.append(fit_or_truncate(spec, paras, AUTHOR))
            text_rect = replace(text_rect, h=text_rect.h - height - GAP)
        if not self.templated:
            mark = BoxSpec("quote_mark", Rect(rect.x, rect.y - 8, 64, 96), inset=0)
            elements.append(set_text(mark, [ParaSpec((Run("“", self.styles.mark),))], 80))
            text_rect = text_rect.shrink(left=72)
        return self._fit_body(
            bullets, [text_rect], bulleted=False, sizes=QUOTE, anchor="middle", notes_area=rect
        )

    # ---- data ---------------------------------------------------------------------------

    def _split_data_area(self, body: Rect, with_text: bool) -> tuple[Rect, Rect | None]:
        if not with_text:
            return body, None
        gap = 24.0
        data_w = (body.w - gap) * 0.62
        return (
            Rect(body.x, body.y, data_w, body.h),
            Rect(body.x + data_w + gap, body.y, body.w - data_w - gap, body.h),
        )

    def _table_style(self) -> TableBox:
        header_fill = self.brand.primary
        header = TextStyle(
            self.styles.heading.family,
            self.styles.heading.face,
            True,
            on_color(header_fill),
            on_color(header_fill),
        )
        body = TextStyle(
            self.styles.body.family, self.styles.body.face, False, self.brand.text, self.brand.text
        )
        return TableBox(
            Rect(0, 0, 0, 0),
            (),
            (),
            (),
            0,
            0,
            0,
            header,
            body,
            header_fill,
            mix(self.brand.primary, "#FFFFFF", 0.88),
            "#FFFFFF",
        )

    def _table(self, slide: DeckSlide, table: Table | None = None, continuation: int = 0) -> None:
        table = table or slide.table
        assert table is not None
        columns = [_cut(c, CELL_CHARS) for c in table.columns[:MAX_COLUMNS]]
        rows = [[_cut(c, CELL_CHARS) for c in row[: len(columns)]] for row in table.rows]
        bullets = slide.bullets if continuation == 0 else []
        frames = self.geometry.frames["table"]
        elements = self._chrome(slide, "table", continuation)
        data_rect, text_rect = self._split_data_area(frames.body[0], bool(bullets))
        source = _cut(slide.data_source, CITATION_CHARS) if slide.data_source else None
        fit = self._fit_body(
            bullets,
            [text_rect or data_rect],
            data_source=source,
            sizes=Sizes(20, 12),
            notes_area=frames.body[0],
        )
        area = replace(data_rect, h=fit.bottom - data_rect.y)
        box, held = fit_table(columns, rows, area, TABLE, self._table_style())
        elements.append(box)
        elements.extend(self._body_elements(fit))
        sources = ([source] if source else []) + fit.sources
        self._add(
            slide,
            "table",
            elements,
            self._notes(slide, continuation, sources),
            continuation,
            self.brand.background,
        )
        if held < len(rows):
            self._table(slide, Table(columns, rows[held:]), continuation + 1)
        if fit.rest:
            self._content(slide, "bullets", fit.rest, len(self._continuations(slide)))

    def _continuations(self, slide: DeckSlide) -> list[Page]:
        return [p for p in self.result if p.slide is slide]

    def _chart(self, slide: DeckSlide) -> None:
        assert slide.chart is not None
        frames = self.geometry.frames["chart"]
        elements = self._chrome(slide, "chart", 0)
        data_rect, text_rect = self._split_data_area(frames.body[0], bool(slide.bullets))
        source = _cut(slide.data_source, CITATION_CHARS) if slide.data_source else None
        fit = self._fit_body(
            slide.bullets,
            [text_rect or data_rect],
            data_source=source,
            sizes=Sizes(20, 12),
            notes_area=frames.body[0],
        )
        area = replace(data_rect, h=fit.bottom - data_rect.y)
        palette = (
            self.brand.primary,
            self.brand.accent,
            self.brand.secondary,
            mix(self.brand.primary, "#FFFFFF", 0.45),
            mix(self.brand.accent, "#000000", 0.3),
            mix(self.brand.secondary, "#FFFFFF", 0.5),
        )
        chart = slide.chart
        title_shown = bool(chart.title) and _clean(chart.title) != _clean(slide.title)
        style = replace(self.styles.body, color=self.brand.text)
        elements.append(
            ChartBox(
                area,
                chart,
                palette,
                12.0 if len(chart.categories) > 6 else 14.0,
                style,
                title_shown,
            )
        )
        elements.extend(self._body_elements(fit))
        sources = ([source] if source else []) + fit.sources
        self._add(
            slide, "chart", elements, self._notes(slide, 0, sources), 0, self.brand.background
        )
        if fit.rest:
            self._content(slide, "bullets", fit.rest, 1)


def layout_deck(deck: Deck, geometry: Geometry) -> list[Page]:
    """The pages of `deck` on `geometry`: the one layout every emitter draws."""
    return DeckLayout(deck, geometry).pages()
