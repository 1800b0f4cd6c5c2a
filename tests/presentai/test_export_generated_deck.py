"""Issue 7's acceptance check: every export of a 20-slide *generated* deck, through the API.

A deck generated from a sample PDF by the local engine (outline, then 20 slides) is exported as
PPTX, PDF, PNG and Google Slides (against the fake Google server, which validates every
`batchUpdate` request). The PPTX reopens in python-pptx, LibreOffice converts it to PDF without
error with one page per slide, no text box overflows (measured with the shipped font metrics),
our PDF and the PNG zip have one page/image per slide, and the Google deck has one slide per
slide with the same titles.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pypdfium2
import pytest
from pptx import Presentation as PptxFile

from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.google import FakeGoogle
from tests.fakes.server import ServerThread
from tests.presentai.generation_support import API, Deck, deck_with_source
from tests.presentai.render.checks import libreoffice_pdfs, overflows

SLIDES = 20
CALLBACK = "http://testserver/api/v1/oauth/google/callback"


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle(redirect_uris={CALLBACK})
    with ServerThread(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def settings_overrides(google: FakeGoogle) -> dict[str, Any]:
    google.reset()
    return {
        "rate_limit": {"enabled": False},
        "presentai": {"public_url": "http://testserver"},
        "google": {
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "auth_url": f"{google.url}/o/oauth2/v2/auth",
            "token_url": f"{google.url}/token",
            "revoke_url": f"{google.url}/revoke",
            "slides_api_url": google.url,
            "drive_api_url": google.url,
            "backoff_seconds": 0.01,
        },
    }


async def _generated(client: httpx.AsyncClient, runtime: Runtime) -> Deck:
    deck = await deck_with_source(
        client, runtime, sample="pep-0008.pdf", title="Стиль кода Python", slides=SLIDES
    )
    for step in ("outline", "slides"):
        started = await client.post(
            f"{API}/presentations/{deck.presentation_id}/generate/{step}", headers=deck.headers
        )
        assert started.status_code == 202, started.text
        await run_jobs(runtime)
    shown = await client.get(f"{API}/presentations/{deck.presentation_id}", headers=deck.headers)
    assert shown.json()["status"] == "ready"
    assert len(shown.json()["slides"]) == SLIDES
    return deck


async def _export(
    client: httpx.AsyncClient, runtime: Runtime, deck: Deck, fmt: str
) -> dict[str, Any]:
    started = await client.post(
        f"{API}/presentations/{deck.presentation_id}/export",
        json={"format": fmt},
        headers=deck.headers,
    )
    assert started.status_code == 202, started.text
    await run_jobs(runtime)
    status = await client.get(started.json()["status_url"], headers=deck.headers)
    body: dict[str, Any] = status.json()
    assert body["status"] == "succeeded", body
    return body


async def _download(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.content


def _libreoffice_pages(pptx: bytes, folder: Path) -> int:
    pdf = libreoffice_pdfs({"deck": pptx}, folder)["deck"]
    return len(pypdfium2.PdfDocument(pdf.read_bytes()))


async def test_every_export_of_a_generated_20_slide_deck(
    presentai_client: httpx.AsyncClient,
    runtime: Runtime,
    google: FakeGoogle,
    tmp_path: Path,
    backend: str,
) -> None:
    deck = await _generated(presentai_client, runtime)

    pptx = await _download(
        presentai_client, (await _export(presentai_client, runtime, deck, "pptx"))["download_url"]
    )
    slides = list(PptxFile(BytesIO(pptx)).slides)
    assert len(slides) >= SLIDES  # long slides may continue on more
    assert overflows(pptx) == []
    if backend == "embedded":  # LibreOffice is slow: once per run
        assert _libreoffice_pages(pptx, tmp_path) == len(slides)

    pdf = await _download(
        presentai_client, (await _export(presentai_client, runtime, deck, "pdf"))["download_url"]
    )
    assert len(pypdfium2.PdfDocument(pdf)) == len(slides)

    png = await _download(
        presentai_client, (await _export(presentai_client, runtime, deck, "png"))["download_url"]
    )
    with zipfile.ZipFile(BytesIO(png)) as images:
        assert len([n for n in images.namelist() if n.endswith(".png")]) == len(slides)

    consent = await presentai_client.get(f"{API}/oauth/google/authorize", headers=deck.headers)
    async with httpx.AsyncClient() as browser:
        back = await browser.get(consent.json()["authorization_url"])
    connected = await presentai_client.get(back.headers["location"])
    assert connected.status_code in (200, 303), connected.text
    exported = await _export(presentai_client, runtime, deck, "google_slides")
    built = google.presentations[exported["google_file_id"]]
    assert len(built.slides) == len(slides)  # one Google slide per PPTX slide
    for ours, theirs in zip(slides, built.slides, strict=True):
        title = ours.shapes.title.text if ours.shapes.title is not None else ""
        assert not title or built.slide_texts(theirs)[0] == title
