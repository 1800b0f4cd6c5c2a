"""Spreadsheet sources become table and chart slides whose data is the source's, cited."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from parmenid.presentai.generation.tabular import chart_of, number, table_of
from parmenid.presentai.slides.models import Slide
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.presentai.generation_support import API, deck_with_source

REGIONS = [("Москва", 1250.5, 800), ("Казань", 430, 310), ("Новосибирск", 512, 350)]


def test_numbers_as_people_write_them() -> None:
    assert [number(c) for c in ("1 234,5", "12%", "$3.2", "-7", "1,234.5")] == [
        1234.5,
        12.0,
        3.2,
        -7.0,
        1234.5,
    ]
    assert [number(c) for c in ("", "Q3", "3.8.1", "2026-01-12")] == [None] * 4


def test_a_measured_column_becomes_a_chart_and_an_id_column_does_not() -> None:
    text = "\n".join(
        ["No | Region | Revenue | Cost"]
        + [f"{i} | {r} | {rev} | {cost}" for i, (r, rev, cost) in enumerate(REGIONS, 1)]
    )
    table = table_of(text)
    assert table is not None and table["columns"] == ["No", "Region", "Revenue", "Cost"]
    chart = chart_of(table, "Sales")
    assert chart is not None
    assert chart["categories"] == ["Москва", "Казань", "Новосибирск"]
    assert [s["name"] for s in chart["series"]] == ["Revenue", "Cost"]  # "No" is not plotted
    assert chart["series"][0]["values"] == [1250.5, 430.0, 512.0]
    words = table_of("PEP | Title | Status\n8 | Style | Active\n20 | Zen | Active")
    assert words is not None and chart_of(words) is None  # nothing measured: a table
    assert table_of("just a sentence\nand another") is None


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["Region", "Revenue", "Cost"])
    for row in REGIONS:
        sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_spreadsheet_source_gives_a_cited_chart_slide(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    deck = await deck_with_source(
        presentai_client, runtime, sample="sales.xlsx", data=_workbook(), slides=1, title="Sales"
    )
    for step in ("outline", "slides"):
        started = await presentai_client.post(
            f"{API}/presentations/{deck.presentation_id}/generate/{step}", headers=deck.headers
        )
        assert started.status_code == 202, started.text
        await run_jobs(runtime)
    async with runtime.db.session() as session:
        slides = (await session.scalars(select(Slide))).all()
    assert [s.status for s in slides] == ["ready"], [s.error_message for s in slides]
    [slide] = slides
    assert slide.layout == "chart"
    data = slide.content["layout_data"]
    assert data["chart"]["categories"] == ["Москва", "Казань", "Новосибирск"]
    assert data["chart"]["series"][0] == {"name": "Revenue", "values": [1250.5, 430.0, 512.0]}
    assert data["source"]["document_id"] == deck.document_id
    assert data["source"]["location"]["sheet"] == "Sales"
    assert data["source"]["location"]["cell_range"] == "Sales!A1:C4"
