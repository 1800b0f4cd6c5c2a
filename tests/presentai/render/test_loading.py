"""`load_deck`: a presentation's slides in order, their content, and the brand kit that
applies (the presentation's own, else the organization's default, else the defaults)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from parmenid.core.errors import NotFound
from parmenid.identity.models import Organization
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project
from parmenid.presentai.render.api import render_deck
from parmenid.presentai.render.deck import BrandStyle, Chart, ChartSeries, Table
from parmenid.presentai.render.loading import load_deck
from parmenid.presentai.slides.models import Slide
from parmenid.runtime import Runtime
from tests.presentai.render.sample_deck import logo

ATTRIBUTION = {
    "document_id": str(uuid.uuid4()),
    "document": "report",
    "chunk_id": "c1",
    "location": {"page": 3},
    "citation": "report.pdf, p. 3",
    "excerpt": "…",
}


async def _organization(runtime: Runtime, name: str) -> uuid.UUID:
    async with runtime.db.session() as session:
        org = Organization(name=name, slug=f"{name}-{uuid.uuid4().hex[:8]}")
        session.add(org)
        await session.flush()
        return org.id


async def _presentation(
    runtime: Runtime, organization: uuid.UUID, parameters: dict[str, Any]
) -> uuid.UUID:
    async with runtime.db.session() as session:
        project = Project(organization_id=organization, name="Render", search_text="render")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=organization,
            project_id=project.id,
            title="Итоги",
            parameters=parameters,
        )
        session.add(presentation)
        await session.flush()
        rows = [
            (
                2,
                "Выручка",
                "chart",
                {
                    "bullets": [{"text": "Рост во втором квартале", "attribution": ATTRIBUTION}],
                    "speaker_notes": "Про график",
                    "layout_data": {
                        "chart": {
                            "kind": "column",
                            "title": "Выручка",
                            "categories": ["Q1", "Q2"],
                            "series": [{"name": "Выручка", "values": [1, "2.5"]}],
                        },
                        "source": {**ATTRIBUTION, "citation": "sales.xlsx, Sales!A1:C4"},
                    },
                },
            ),
            (
                1,
                "Обложка",
                "title",
                {"bullets": [{"text": "Совет директоров", "attribution": None}]},
            ),
            (
                3,
                "Регионы",
                "table",
                {
                    "bullets": [],
                    "layout_data": {
                        "table": {"columns": ["Регион", "Выручка"], "rows": [["Москва", "1 250"]]}
                    },
                },
            ),
            (
                4,
                "Цитата",
                "quote",
                {
                    "bullets": [{"text": "Быстрее", "attribution": None}],
                    "layout_data": {"quote_author": "Анна"},
                },
            ),
            (5, "Пустой", "mystery", {}),
        ]
        for position, title, layout, content in rows:
            session.add(
                Slide(
                    organization_id=organization,
                    presentation_id=presentation.id,
                    position=position,
                    title=title,
                    layout=layout,
                    content=content,
                    status="ready",
                )
            )
        return presentation.id


async def _kit(runtime: Runtime, organization: uuid.UUID, **values: Any) -> uuid.UUID:
    async with runtime.db.session() as session:
        kit = BrandKit(organization_id=organization, name=values.pop("name", "Kit"), **values)
        session.add(kit)
        await session.flush()
        return kit.id


async def _load(runtime: Runtime, presentation: uuid.UUID) -> Any:
    assert runtime.storage is not None
    async with runtime.db.session() as session:
        return await load_deck(session, runtime.storage, presentation)


async def test_slides_in_order_with_their_content(runtime: Runtime) -> None:
    org = await _organization(runtime, "acme")
    presentation = await _presentation(runtime, org, {"language": "en"})
    deck = await _load(runtime, presentation)
    assert (deck.title, deck.language, deck.style) == ("Итоги", "en", BrandStyle())
    assert [s.number for s in deck.slides] == [1, 2, 3, 4, 5]
    assert [s.layout for s in deck.slides] == ["title", "chart", "table", "quote", "bullets"]
    cover, chart, table, quote, empty = deck.slides
    assert cover.bullets[0].text == "Совет директоров" and cover.bullets[0].citation is None
    assert chart.bullets[0].citation == "report.pdf, p. 3"
    assert chart.speaker_notes == "Про график"
    assert chart.chart == Chart(
        "column", ["Q1", "Q2"], [ChartSeries("Выручка", [1.0, 2.5])], "Выручка"
    )
    assert chart.data_source == "sales.xlsx, Sales!A1:C4"
    assert table.table == Table(["Регион", "Выручка"], [["Москва", "1 250"]])
    assert quote.quote_author == "Анна"
    assert empty.bullets == [] and empty.title == "Пустой"
    assert render_deck(deck, "pdf").slide_count == 5


async def test_the_presentations_brand_kit_else_the_default(runtime: Runtime) -> None:
    assert runtime.storage is not None
    org, other = await _organization(runtime, "acme"), await _organization(runtime, "other")
    await runtime.storage.put("brand/logo.png", logo())
    await _kit(runtime, org, name="Default", is_default=True, colors={"primary": "#112233"})
    chosen = await _kit(
        runtime,
        org,
        name="Chosen",
        colors={"primary": "#0f766e", "accent": "not a color"},
        fonts={"heading": "Arial", "body": "Calibri"},
        logo_storage_key="brand/logo.png",
        footer_text="ACME",
        attribution="notes",
        default_layouts={"title": "Cover"},
    )
    foreign = await _kit(runtime, other, name="Foreign", colors={"primary": "#FF0000"})

    deck = await _load(runtime, await _presentation(runtime, org, {"brand_kit_id": str(chosen)}))
    style = deck.style
    assert (style.primary, style.accent) == ("#0F766E", BrandStyle().accent)
    assert (style.heading_font, style.body_font) == ("Arial", "Calibri")
    assert style.logo == logo() and style.footer_text == "ACME"
    assert style.attribution == "notes" and style.default_layouts == {"title": "Cover"}
    assert deck.language == "ru"

    for parameters in ({"brand_kit_id": str(foreign)}, {}, {"brand_kit_id": "nonsense"}):
        deck = await _load(runtime, await _presentation(runtime, org, parameters))
        assert deck.style.primary == "#112233", parameters

    lone = await _organization(runtime, "lone")
    deck = await _load(runtime, await _presentation(runtime, lone, {}))
    assert deck.style == BrandStyle()


async def test_a_missing_logo_is_left_out_and_a_missing_deck_is_not_found(
    runtime: Runtime,
) -> None:
    org = await _organization(runtime, "acme")
    await _kit(runtime, org, is_default=True, logo_storage_key="brand/gone.png")
    deck = await _load(runtime, await _presentation(runtime, org, {}))
    assert deck.style.logo is None
    with pytest.raises(NotFound):
        await _load(runtime, uuid.uuid4())
