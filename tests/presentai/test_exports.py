"""Presentation exports end to end, in process: start (202), the job, the `export_completed`
event, the file downloaded through its signed link and opened, expired links and files (410),
tenancy, Google Slides without a connection or with the API down, and one run on S3 (moto's
server on loopback)."""

from __future__ import annotations

import io
import socket
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pptx
import pypdfium2
import pytest
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.downloads import LinkSigner
from parmenid.core.errors import Text
from parmenid.core.jobs import Job, enqueue
from parmenid.core.storage import S3Storage
from parmenid.identity.models import Membership, Role, User
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.exports.models import ExportJob
from parmenid.presentai.exports.tasks import EXPIRE_JOB, JOB_NAME
from parmenid.presentai.generation.progress import stream_of
from parmenid.presentai.oauth import google_slides
from parmenid.presentai.oauth.models import OAuthConnection
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project
from parmenid.presentai.realtime.subscriptions import jobs
from parmenid.presentai.render.deck import Deck as RenderDeck
from parmenid.presentai.slides.models import Slide
from parmenid.presentai.slides.versions import Author, write_slide
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.core.test_storage_contract import CREDENTIALS, new_bucket, s3_endpoint, s3_keys
from tests.helpers import bearer, error_of
from tests.presentai.test_websocket import person, server, signed_in, streams, ws_url

API = "/api/v1"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
SLIDES = [
    ("Итоги квартала", ["Выручка выросла на 12 %", "Маржа стабильна"]),
    ("Plans", ["Hire two engineers", "Ship the export feature"]),
    ("Risks", ["Supplier delays", "Currency swings"]),
]
# Fixtures shared with other modules: moto's S3 server, and the WebSocket server.
_ = (s3_endpoint, server, streams, ws_url)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "rate_limit": {"enabled": False},
        "google": {"client_id": "client.apps.googleusercontent.com", "client_secret": "s"},
    }


@dataclass
class World:
    headers: dict[str, str]
    organization_id: str
    presentation_id: str
    user_id: uuid.UUID


async def deck_rows(
    runtime: Runtime,
    organization_id: uuid.UUID,
    *,
    slides: list[tuple[str, list[str]]] | None = None,
    title: str = "Квартальный отчёт",
) -> str:
    """A presentation with ready slides, as generation leaves them (rows); its id."""
    async with runtime.db.session() as session:
        project = Project(organization_id=organization_id, name="P", search_text="p")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=organization_id, project_id=project.id, title=title, status="ready"
        )
        session.add(presentation)
        await session.flush()
        for position, (slide_title, bullets) in enumerate(SLIDES if slides is None else slides):
            slide = Slide(
                organization_id=organization_id,
                presentation_id=presentation.id,
                position=position + 1,
            )
            write_slide(
                session,
                slide,
                author=Author("job"),
                reason="generated",
                title=slide_title,
                content={
                    "bullets": [{"text": b, "attribution": None} for b in bullets],
                    "speaker_notes": f"Notes for {slide_title}",
                },
            )
            slide.status = "ready"
            session.add(slide)
        return str(presentation.id)


async def world(
    client: httpx.AsyncClient,
    runtime: Runtime,
    *,
    email: str = "owner@example.com",
    slides: list[tuple[str, list[str]]] | None = None,
) -> World:
    """A signed-in owner, their organization and a presentation with ready slides."""
    headers = await bearer(client, email)
    org = (
        await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=headers)
    ).json()["id"]
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
    presentation_id = await deck_rows(runtime, uuid.UUID(org), slides=slides)
    return World(headers, org, presentation_id, user.id)


def export_url(w: World, export_id: str | None = None) -> str:
    base = f"{API}/presentations/{w.presentation_id}/export"
    return f"{base}/{export_id}" if export_id else base


async def start(client: httpx.AsyncClient, w: World, fmt: str, **body: Any) -> dict[str, Any]:
    response = await client.post(export_url(w), json={"format": fmt, **body}, headers=w.headers)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def status(client: httpx.AsyncClient, w: World, export_id: str) -> dict[str, Any]:
    response = await client.get(export_url(w, export_id), headers=w.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def download(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """Follow a signed link as a browser would: no credentials."""
    assert url.startswith("http://localhost:8001/api/v1/downloads/")
    return await client.get(urlsplit(url).path)


async def events(runtime: Runtime, export_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await runtime.streams.read(stream_of(export_id), count=100)]


async def export_row(runtime: Runtime, export_id: str) -> ExportJob:
    async with runtime.db.session() as session:
        row = await session.get(ExportJob, uuid.UUID(export_id))
        assert row is not None
        return row


async def exported(
    client: httpx.AsyncClient, runtime: Runtime, w: World, fmt: str
) -> tuple[dict[str, Any], httpx.Response]:
    """Export, run the job, download the file; the final status and the download."""
    accepted = await start(client, w, fmt)
    await run_jobs(runtime)
    body = await status(client, w, accepted["export_id"])
    assert body["status"] == "succeeded", body
    response = await download(client, body["download_url"])
    assert response.status_code == 200, response.text
    return body, response


# -- starting ------------------------------------------------------------------------------


async def test_start_answers_202_and_the_status_is_queued(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pptx")
    assert set(accepted) == {
        "export_id",
        "presentation_id",
        "format",
        "status",
        "status_url",
        "events",
    }
    assert accepted["presentation_id"] == w.presentation_id
    assert (accepted["format"], accepted["status"]) == ("pptx", "queued")
    assert accepted["status_url"].endswith(export_url(w, accepted["export_id"]))
    body = await status(presentai_client, w, accepted["export_id"])
    assert (body["status"], body["file_status"], body["download_url"]) == (
        "queued",
        "pending",
        None,
    )
    async with runtime.db.session() as session:
        queued = await session.scalar(select(Job).where(Job.name == JOB_NAME))
        assert queued is not None
        assert queued.payload == {"export_job_id": accepted["export_id"]}


async def test_bad_input_is_422_never_500(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    for body in ({"format": "docx"}, {}, {"format": None}, {"format": "pptx", "brand_kit_id": 1}):
        response = await presentai_client.post(export_url(w), json=body, headers=w.headers)
        error_of(response, 422, "validation_error")
    wrong = await presentai_client.post(export_url(w), json={"format": "docx"}, headers=w.headers)
    text = wrong.text
    assert all(name in text for name in ("pptx", "pdf", "png", "google_slides")), text
    raw = await presentai_client.post(
        export_url(w),
        content=b"{not json",
        headers={**w.headers, "Content-Type": "application/json"},
    )
    assert raw.status_code in (400, 422), raw.text


async def test_what_cannot_be_exported_is_refused_at_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    pid = uuid.UUID(w.presentation_id)
    async with runtime.db.session() as session:
        await session.execute(
            update(Presentation).where(Presentation.id == pid).values(status="slides_generating")
        )
    busy = await presentai_client.post(export_url(w), json={"format": "pdf"}, headers=w.headers)
    assert "generated" in error_of(busy, 409, "conflict")["message"]

    empty = await world(presentai_client, runtime, email="empty@example.com", slides=[])
    none = await presentai_client.post(
        export_url(empty), json={"format": "pdf"}, headers=empty.headers
    )
    assert "no ready slide" in error_of(none, 409, "conflict")["message"]

    other_kit = await world(presentai_client, runtime, email="kit@example.com")
    async with runtime.db.session() as session:
        await session.execute(
            update(Presentation).where(Presentation.id == pid).values(status="ready")
        )
        kit = BrandKit(organization_id=uuid.UUID(other_kit.organization_id), name="Theirs")
        session.add(kit)
        await session.flush()
        kit_id = str(kit.id)
    foreign = await presentai_client.post(
        export_url(w), json={"format": "pdf", "brand_kit_id": kit_id}, headers=w.headers
    )
    error_of(foreign, 404, "not_found")

    async with runtime.db.session() as session:
        await session.execute(
            update(Presentation).where(Presentation.id == pid).values(deleted_at=utcnow())
        )
    deleted = await presentai_client.post(export_url(w), json={"format": "pdf"}, headers=w.headers)
    error_of(deleted, 404, "not_found")
    async with runtime.db.session() as session:
        assert (await session.scalars(select(ExportJob))).all() == []


async def test_another_organization_sees_nothing(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pptx")
    stranger = await world(presentai_client, runtime, email="stranger@example.com")
    as_stranger = World(stranger.headers, w.organization_id, w.presentation_id, stranger.user_id)
    response = await presentai_client.get(
        export_url(as_stranger, accepted["export_id"]), headers=stranger.headers
    )
    error_of(response, 404, "not_found")
    response = await presentai_client.post(
        export_url(as_stranger), json={"format": "pdf"}, headers=stranger.headers
    )
    error_of(response, 404, "not_found")
    # the export under another presentation (the stranger's own) is not found either
    response = await presentai_client.get(
        export_url(stranger, accepted["export_id"]), headers=stranger.headers
    )
    error_of(response, 404, "not_found")
    async with runtime.db.session() as session:
        export_id = uuid.UUID(accepted["export_id"])
        assert await jobs.authorize(session, stranger.user_id, export_id) is None


async def test_viewers_read_and_keys_need_exports_write(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    viewer = await bearer(presentai_client, "viewer@example.com")
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == "viewer@example.com"))
        assert user is not None
        org = uuid.UUID(w.organization_id)
        session.add(Membership(organization_id=org, user_id=user.id, role=Role.VIEWER))
    accepted = await start(presentai_client, w, "pdf")
    seen = await presentai_client.get(export_url(w, accepted["export_id"]), headers=viewer)
    assert seen.status_code == 200
    refused = await presentai_client.post(export_url(w), json={"format": "pdf"}, headers=viewer)
    error_of(refused, 403, "insufficient_role")

    created = await presentai_client.post(
        f"{API}/api-keys",
        json={"organization_id": w.organization_id, "name": "ci", "scopes": ["exports:write"]},
        headers=w.headers,
    )
    key = {"X-API-Key": created.json()["key"]}
    by_key = await presentai_client.post(export_url(w), json={"format": "pptx"}, headers=key)
    assert by_key.status_code == 202, by_key.text
    read = await presentai_client.get(export_url(w, by_key.json()["export_id"]), headers=key)
    assert read.status_code == 200
    google = await presentai_client.post(
        export_url(w), json={"format": "google_slides"}, headers=key
    )
    assert "API key" in error_of(google, 403, "insufficient_scope")["message"]


# -- files ---------------------------------------------------------------------------------


async def test_pptx_export_downloads_a_file_python_pptx_opens(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, response = await exported(presentai_client, runtime, w, "pptx")
    assert response.headers["content-type"] == PPTX_TYPE
    assert response.headers["cache-control"] == "private, no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%D0%9A%D0%B2%D0%B0%D1%80%D1%82" in disposition  # "Кварт..."
    deck = pptx.Presentation(io.BytesIO(response.content))
    assert len(deck.slides) == body["slide_count"] >= len(SLIDES)
    text = " ".join(
        shape.text_frame.text for s in deck.slides for shape in s.shapes if shape.has_text_frame
    )
    assert "Итоги квартала" in text and "Supplier delays" in text
    assert body["filename"] == "Квартальный отчёт.pptx"
    assert body["size_bytes"] == len(response.content)
    assert body["file_status"] == "available"
    assert body["expires_at"] is not None and body["finished_at"] is not None
    thumbnail = await download(presentai_client, body["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.content.startswith(b"\x89PNG\r\n\x1a\n")
    row = await export_row(runtime, body["export_id"])
    assert row.storage_key == f"exports/{w.organization_id}/{body['export_id']}/export.pptx"
    assert row.events_published == 1

    published = await events(runtime, body["export_id"])
    assert len(published) == 1
    event = published[0]
    assert set(event) == {
        "type",
        "export_job_id",
        "presentation_id",
        "format",
        "download_url",
        "seq",
    }
    assert event["type"] == "export_completed"
    assert (event["export_job_id"], event["presentation_id"]) == (
        body["export_id"],
        w.presentation_id,
    )
    assert (event["format"], event["seq"]) == ("pptx", 1)
    again = await download(presentai_client, event["download_url"])
    assert again.content == response.content


async def test_pdf_export_has_a_page_per_slide(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, response = await exported(presentai_client, runtime, w, "pdf")
    assert response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) == body["slide_count"] >= len(SLIDES)
    assert body["filename"].endswith(".pdf")


async def test_png_export_is_a_zip_of_one_image_per_slide(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, response = await exported(presentai_client, runtime, w, "png")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        assert len(names) == body["slide_count"] >= len(SLIDES)
        for name in names:
            assert archive.read(name).startswith(b"\x89PNG\r\n\x1a\n")
    assert body["filename"].endswith(".zip")


async def test_a_finished_export_is_not_redone(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, _ = await exported(presentai_client, runtime, w, "pdf")
    async with runtime.db.session() as session:
        enqueue(session, JOB_NAME, {"export_job_id": body["export_id"]})
    await run_jobs(runtime)
    assert len(await events(runtime, body["export_id"])) == 1
    assert (await export_row(runtime, body["export_id"])).events_published == 1


async def test_a_crashed_render_is_retried_and_publishes_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parmenid.presentai.render import api

    real = api.render_deck
    calls = {"n": 0}

    def flaky(deck: RenderDeck, fmt: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError("the renderer ran out of memory")
        return real(deck, fmt)

    monkeypatch.setattr(api, "render_deck", flaky)
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pdf")
    await run_jobs(runtime)
    assert (await status(presentai_client, w, accepted["export_id"]))["status"] == "running"
    async with runtime.db.session() as session:  # the retry is due now, not after its backoff
        await session.execute(update(Job).where(Job.name == JOB_NAME).values(run_at=utcnow()))
    await run_jobs(runtime)
    body = await status(presentai_client, w, accepted["export_id"])
    assert body["status"] == "succeeded"
    assert [e["type"] for e in await events(runtime, accepted["export_id"])] == ["export_completed"]


async def test_an_export_whose_worker_died_is_picked_up_again(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    await run_jobs(runtime)  # the sign-up's e-mail
    accepted = await start(presentai_client, w, "pptx")
    [claimed] = await runtime.worker().claim(1)  # a worker takes the job, then dies
    assert claimed.name == JOB_NAME
    assert await run_jobs(runtime) == 0  # its lease still holds
    async with runtime.db.session() as session:
        await session.execute(
            update(Job).where(Job.id == claimed.id).values(lease_expires_at=utcnow())
        )
    await run_jobs(runtime)
    body = await status(presentai_client, w, accepted["export_id"])
    assert body["status"] == "succeeded"
    assert len(await events(runtime, accepted["export_id"])) == 1


async def run_until_finished(runtime: Runtime) -> None:
    """Run the export job through all its attempts (each retry made due at once)."""
    for _ in range(runtime.settings.presentai.export_max_attempts):
        await run_jobs(runtime)
        async with runtime.db.session() as session:
            await session.execute(update(Job).where(Job.name == JOB_NAME).values(run_at=utcnow()))


async def test_storage_down_is_retried_then_fails_clearly(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pdf")
    working = runtime.storage
    with socket.socket() as probe:  # an S3 endpoint nobody answers
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime.storage = S3Storage(
        "bucket", endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, **CREDENTIALS
    )
    try:
        await run_jobs(runtime)
        first = await status(presentai_client, w, accepted["export_id"])
        assert first["status"] == "running"  # to be retried
        await run_until_finished(runtime)
    finally:
        await runtime.storage.close()
        runtime.storage = working
    body = await status(presentai_client, w, accepted["export_id"])
    assert (body["status"], body["error_code"]) == ("failed", "storage_unavailable")
    assert "storage is unavailable" in body["error_message"]


async def test_a_job_that_keeps_failing_fails_cleanly(
    presentai_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parmenid.presentai.render import api

    def broken(deck: RenderDeck, fmt: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "render_deck", broken)
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pptx")
    left_over = f"exports/{w.organization_id}/{accepted['export_id']}/export.pptx"
    assert runtime.storage is not None
    await runtime.storage.put(left_over, b"stored by an earlier, interrupted run")
    await run_until_finished(runtime)
    assert not await runtime.storage.exists(left_over)
    body = await status(presentai_client, w, accepted["export_id"])
    assert (body["status"], body["error_code"], body["file_status"]) == (
        "failed",
        "export_failed",
        "none",
    )
    assert "boom" in body["error_message"]
    [event] = await events(runtime, accepted["export_id"])
    assert event == {
        "type": "export_failed",
        "export_job_id": accepted["export_id"],
        "presentation_id": w.presentation_id,
        "format": "pptx",
        "error_code": "export_failed",
        "error_message": body["error_message"],
        "seq": 1,
    }


# -- links and retention -------------------------------------------------------------------


async def test_links_are_signed_and_expire_with_410(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, _ = await exported(presentai_client, runtime, w, "pdf")
    ttl = runtime.settings.presentai.export_link_ttl_seconds
    assert ttl == 3600
    assert body["download_url_expires_at"] is not None
    export_id = uuid.UUID(body["export_id"])
    signer = LinkSigner(runtime.settings.jwt_secret())
    expired, _ = signer.sign(export_id, -1)
    error_of(await presentai_client.get(f"{API}/downloads/{expired}"), 410, "gone")
    expired_thumbnail, _ = signer.sign(export_id, -1, "thumbnail")
    error_of(await presentai_client.get(f"{API}/downloads/{expired_thumbnail}"), 410, "gone")
    forged = LinkSigner("another secret").sign(export_id, 3600)[0]
    error_of(await presentai_client.get(f"{API}/downloads/{forged}"), 404, "not_found")
    token = urlsplit(body["download_url"]).path.rsplit("/", 1)[1]
    head, expiry, mac = token.split(".")
    stretched = f"{head}.{int(expiry) + 86400}.{mac}"  # a later expiry breaks the signature
    error_of(await presentai_client.get(f"{API}/downloads/{stretched}"), 404, "not_found")
    for junk in ("x", "a.b.c", "é.1.ü", f"{export_id.hex}-nope.1.x"):
        assert (await presentai_client.get(f"{API}/downloads/{junk}")).status_code == 404


async def test_after_retention_the_file_is_gone(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, _ = await exported(presentai_client, runtime, w, "pptx")
    export_id = uuid.UUID(body["export_id"])
    async with runtime.db.session() as session:
        row = await session.get(ExportJob, export_id)
        assert row is not None and row.expires_at is not None
        keys = [row.storage_key, row.thumbnail_storage_key]
        expiry = await session.scalar(select(Job).where(Job.name == EXPIRE_JOB))
        assert expiry is not None
        kept = timedelta(days=runtime.settings.presentai.export_retention_days)
        assert abs((expiry.run_at - row.expires_at).total_seconds()) < 1
        assert abs((row.expires_at - utcnow() - kept).total_seconds()) < 60
        assert expiry.payload == {"export_job_id": str(export_id), "storage_keys": keys}
        row.expires_at = utcnow() - timedelta(seconds=1)  # the retention ends
    ended = await status(presentai_client, w, body["export_id"])
    assert (ended["file_status"], ended["download_url"], ended["thumbnail_url"]) == (
        "expired",
        None,
        None,
    )
    gone = error_of(await download(presentai_client, body["download_url"]), 410, "gone")
    assert "no longer kept" in gone["message"]
    error_of(await download(presentai_client, body["thumbnail_url"]), 410, "gone")

    assert runtime.storage is not None
    for key in keys:
        assert key is not None and await runtime.storage.exists(key)
    async with runtime.db.session() as session:
        await session.execute(update(Job).where(Job.name == EXPIRE_JOB).values(run_at=utcnow()))
    await run_jobs(runtime)
    for key in keys:
        assert key is not None and not await runtime.storage.exists(key)
    row = await export_row(runtime, body["export_id"])
    assert (row.storage_key, row.thumbnail_storage_key) == (None, None)
    assert (await status(presentai_client, w, body["export_id"]))["file_status"] == "expired"


async def test_expiry_removes_the_files_even_when_the_export_row_is_gone(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, _ = await exported(presentai_client, runtime, w, "pdf")
    row = await export_row(runtime, body["export_id"])
    assert runtime.storage is not None and row.storage_key is not None
    async with runtime.db.session() as session:  # the presentation was purged meanwhile
        await session.delete(await session.get(ExportJob, row.id))
        await session.execute(update(Job).where(Job.name == EXPIRE_JOB).values(run_at=utcnow()))
    await run_jobs(runtime)
    assert not await runtime.storage.exists(row.storage_key)


async def test_a_deleted_presentation_takes_its_links_with_it(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    body, _ = await exported(presentai_client, runtime, w, "pdf")
    deleted = await presentai_client.delete(
        f"{API}/presentations/{w.presentation_id}", headers=w.headers
    )
    assert deleted.status_code in (200, 204), deleted.text
    error_of(await download(presentai_client, body["download_url"]), 410, "gone")
    error_of(
        await presentai_client.get(export_url(w, body["export_id"]), headers=w.headers),
        404,
        "not_found",
    )


# -- Google Slides -------------------------------------------------------------------------


async def connect_google(runtime: Runtime, user_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        session.add(
            OAuthConnection(
                user_id=user_id, provider="google", access_token_sealed=b"sealed", scopes=""
            )
        )


async def test_google_slides_without_a_connection_is_refused_at_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    response = await presentai_client.post(
        export_url(w), json={"format": "google_slides"}, headers=w.headers
    )
    body = error_of(response, 409, "google_not_connected")
    assert "Connect your Google account" in body["message"]
    assert body["connect_url"] == "/api/v1/oauth/google/authorize"


async def test_google_slides_not_configured_on_the_server_is_refused_at_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.google.client_id = None
    w = await world(presentai_client, runtime)
    await connect_google(runtime, w.user_id)
    response = await presentai_client.post(
        export_url(w), json={"format": "google_slides"}, headers=w.headers
    )
    assert "PPTX" in error_of(response, 503, "google_slides_unavailable")["message"]


async def test_google_slides_disconnected_before_the_job_ran_fails_clearly(
    presentai_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_connected(runtime: Runtime, user_id: uuid.UUID, deck: RenderDeck) -> str:
        raise google_slides.GoogleNotConnected(Text("Connect Google first.", "Подключите Google."))

    monkeypatch.setattr(google_slides, "publish_deck", not_connected)
    w = await world(presentai_client, runtime)
    await connect_google(runtime, w.user_id)
    accepted = await start(presentai_client, w, "google_slides")
    await run_jobs(runtime)
    body = await status(presentai_client, w, accepted["export_id"])
    assert (body["status"], body["error_code"]) == ("failed", "google_not_connected")
    assert body["error_message"] == "Connect Google first."


async def test_google_slides_failure_fails_the_job_and_pptx_still_works(
    presentai_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(runtime: Runtime, user_id: uuid.UUID, deck: RenderDeck) -> str:
        raise google_slides.GoogleSlidesFailed(Text("Google Slides is down.", "Google недоступен."))

    monkeypatch.setattr(google_slides, "publish_deck", down)
    w = await world(presentai_client, runtime)
    await connect_google(runtime, w.user_id)
    accepted = await start(presentai_client, w, "google_slides")
    await run_jobs(runtime)
    body = await status(presentai_client, w, accepted["export_id"])
    assert (body["status"], body["error_code"]) == ("failed", "google_slides_unavailable")
    assert (body["download_url"], body["google_file_id"], body["file_status"]) == (
        None,
        None,
        "none",
    )
    [event] = await events(runtime, accepted["export_id"])
    assert event == {
        "type": "export_failed",
        "export_job_id": accepted["export_id"],
        "presentation_id": w.presentation_id,
        "format": "google_slides",
        "error_code": "google_slides_unavailable",
        "error_message": "Google Slides is down.",
        "seq": 1,
    }
    _, response = await exported(presentai_client, runtime, w, "pptx")
    assert pptx.Presentation(io.BytesIO(response.content)).slides


async def test_google_slides_success_reports_the_file(
    presentai_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[tuple[uuid.UUID, RenderDeck]] = []

    async def publish(runtime: Runtime, user_id: uuid.UUID, deck: RenderDeck) -> str:
        received.append((user_id, deck))
        return "1AbCdEfG"

    monkeypatch.setattr(google_slides, "publish_deck", publish)
    w = await world(presentai_client, runtime)
    await connect_google(runtime, w.user_id)
    async with runtime.db.session() as session:
        kit = BrandKit(
            organization_id=uuid.UUID(w.organization_id),
            name="Corporate",
            colors={"primary": "#112233"},
        )
        session.add(kit)
        await session.flush()
        kit_id = str(kit.id)
    accepted = await start(presentai_client, w, "google_slides", brand_kit_id=kit_id)
    await run_jobs(runtime)
    body = await status(presentai_client, w, accepted["export_id"])
    assert body["status"] == "succeeded"
    assert body["google_file_id"] == "1AbCdEfG"
    assert body["google_url"] == "https://docs.google.com/presentation/d/1AbCdEfG/edit"
    assert (body["download_url"], body["file_status"]) == (None, "none")
    [(user_id, deck)] = received
    assert user_id == w.user_id
    assert deck.style.primary == "#112233"  # the brand kit the export asked for
    assert [s.title for s in deck.slides][: len(SLIDES)] == [t for t, _ in SLIDES]
    assert await events(runtime, accepted["export_id"]) == [
        {
            "type": "export_completed",
            "export_job_id": accepted["export_id"],
            "presentation_id": w.presentation_id,
            "format": "google_slides",
            "google_file_id": "1AbCdEfG",
            "seq": 1,
        }
    ]


# -- the WebSocket's job lookup ------------------------------------------------------------


async def test_members_may_follow_an_export_on_the_websocket(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    w = await world(presentai_client, runtime)
    accepted = await start(presentai_client, w, "pdf")
    export_id = uuid.UUID(accepted["export_id"])
    async with runtime.db.session() as session:
        target = await jobs.authorize(session, w.user_id, export_id)
    assert target is not None
    assert (target.kind, target.stream) == ("export", f"gen_progress:{export_id}")
    assert (target.state.status, target.state.finished, target.state.events_published) == (
        "queued",
        False,
        0,
    )
    await run_jobs(runtime)
    async with runtime.db.session() as session:
        target = await jobs.authorize(session, w.user_id, export_id)
    assert target is not None
    assert (target.state.finished, target.state.events_published) == (True, 1)


async def test_the_export_streams_on_the_websocket(
    presentai_client: httpx.AsyncClient, runtime: Runtime, ws_url: str
) -> None:
    owner, outsider = await person(runtime, "exporter"), await person(runtime, "outsider")
    presentation_id = await deck_rows(runtime, owner.organization_id)
    w = World(
        {"Authorization": f"Bearer {owner.token}"},
        str(owner.organization_id),
        presentation_id,
        owner.user_id,
    )
    accepted = await start(presentai_client, w, "pdf")
    export_id = uuid.UUID(accepted["export_id"])
    async with signed_in(ws_url, outsider) as ws:
        refused = await ws.subscribe(export_id)
        assert (refused["type"], refused["error"]) == ("error", "not_found"), refused
    async with signed_in(ws_url, owner) as ws:
        assert await ws.subscribe(export_id) == {
            "type": "subscribed",
            "job_id": str(export_id),
            "kind": "export",
            "status": "queued",
            "events_published": 0,
        }
        await run_jobs(runtime)
        event = await ws.frame()
        assert event["type"] == "export_completed" and event["seq"] == 1
        assert set(event) == {
            "type",
            "export_job_id",
            "presentation_id",
            "format",
            "download_url",
            "seq",
            "event_id",  # the socket adds its stream position
            "job_id",  # and the id subscribed to, as on every job's frames
        }
        assert event["job_id"] == event["export_job_id"] == str(export_id)
        assert (await download(presentai_client, event["download_url"])).content.startswith(b"%PDF")


# -- S3 --------------------------------------------------------------------------------------


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    return new_bucket(s3_endpoint)


async def test_export_on_s3(
    s3_endpoint: str, s3_bucket: str, tmp_path: Any, database_url: str, backend: str
) -> None:
    from parmenid.presentai.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path,
        database_url,
        backend,
        rate_limit={"enabled": False},
        storage={
            "s3_bucket": s3_bucket,
            "s3_endpoint_url": s3_endpoint,
            "s3_region": CREDENTIALS["region"],
            "s3_access_key_id": CREDENTIALS["access_key_id"],
            "s3_secret_access_key": CREDENTIALS["secret_access_key"],
            "s3_prefix": "parmenid",
        },
    )
    runtime = Runtime.build(settings)
    try:
        if backend == "postgres":
            from tests.conftest import truncate_all

            await truncate_all(runtime)
        assert isinstance(runtime.storage, S3Storage)
        transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            w = await world(client, runtime)
            body, response = await exported(client, runtime, w, "pptx")
        assert pptx.Presentation(io.BytesIO(response.content)).slides
        prefix = f"parmenid/exports/{w.organization_id}/{body['export_id']}"
        assert s3_keys(s3_endpoint, s3_bucket) == [
            f"{prefix}/export.pptx",
            f"{prefix}/thumbnail.png",
        ]
    finally:
        await runtime.close()
