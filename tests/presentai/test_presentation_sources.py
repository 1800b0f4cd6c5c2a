"""`/presentations/{id}/sources`: add by file id, by URL (SSRF guard) or upload; list with
ingestion status; remove, deleting the document, its file and its vectors only when unused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from parmenid.core.jobs import Job
from parmenid.knowledge.ingestion import DELETE_JOB
from parmenid.knowledge.ingestion import JOB_NAME as INGEST_JOB
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.server import ServerThread
from tests.helpers import bearer, error_of
from tests.presentai.test_presentations import (
    make_org,
    make_presentation,
    make_project,
    set_columns,
)

API = "/api/v1"
P = f"{API}/presentations"
LIMIT = 300_000
NOTES = b"# Photosynthesis\n\nChlorophyll absorbs sunlight and converts carbon dioxide to sugar.\n"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "rate_limit": {"enabled": False},
        "knowledge": {"max_upload_bytes": LIMIT, "allow_loopback_urls": True},
    }


async def _deck(
    client: httpx.AsyncClient, email: str = "owner@example.com"
) -> tuple[dict[str, str], str, str]:
    """(headers, organization id, presentation id)."""
    headers = await bearer(client, email)
    org_id = await make_org(client, headers)
    project_id = await make_project(client, headers, org_id)
    deck = await make_presentation(client, headers, project_id, "Deck")
    return headers, org_id, deck["id"]


async def _upload_file(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, data: bytes = NOTES
) -> str:
    uploaded = await client.post(
        f"{API}/files/upload",
        params={"organization_id": org_id},
        files={"file": ("notes.md", data)},
        headers=headers,
    )
    assert uploaded.status_code == 202, uploaded.text
    file_id: str = uploaded.json()["id"]
    return file_id


async def _chunks(runtime: Runtime, org_id: str, document_id: str) -> int:
    found = await runtime.index.search(
        org_id, "chlorophyll sunlight", document_ids=[document_id], limit=50
    )
    assert not found.degraded, found.reason
    return len(found.hits)


async def _jobs(runtime: Runtime, name: str) -> list[Job]:
    async with runtime.db.session() as session:
        return list((await session.scalars(select(Job).where(Job.name == name))).all())


async def test_add_by_file_id_list_and_conflicts(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, deck = await _deck(presentai_client)
    file_id = await _upload_file(presentai_client, owner, org_id)
    url = f"{P}/{deck}/sources"
    added = await presentai_client.post(url, json={"file_id": file_id}, headers=owner)
    assert added.status_code == 201, added.text
    source = added.json()
    assert (source["document_id"], source["filename"], source["kind"]) == (
        file_id,
        "notes.md",
        "markdown",
    )
    assert source["ingestion_status"] == "pending" and source["chunks_created"] == 0
    assert source["added_by"] is not None and source["added_at"]
    again = error_of(
        await presentai_client.post(url, json={"file_id": file_id}, headers=owner), 409, "conflict"
    )
    assert again["source_id"] == source["id"]
    await run_jobs(runtime)
    listed = (await presentai_client.get(url, headers=owner)).json()["items"]
    assert [s["id"] for s in listed] == [source["id"]]
    assert listed[0]["ingestion_status"] == "indexed" and listed[0]["chunks_created"] > 0
    assert listed[0]["error_message"] is None
    details = (await presentai_client.get(f"{P}/{deck}", headers=owner)).json()
    assert details["sources"] == listed and details["sources_count"] == 1

    stranger, other_org, other_deck = await _deck(presentai_client, "stranger@example.com")
    foreign = await _upload_file(presentai_client, stranger, other_org)
    error_of(
        await presentai_client.post(url, json={"file_id": foreign}, headers=owner), 404, "not_found"
    )
    error_of(
        await presentai_client.post(url, json={"file_id": str(uuid.uuid4())}, headers=owner),
        404,
        "not_found",
    )
    for bad in (
        {},
        {"file_id": file_id, "url": "https://example.com/a.pdf"},
        {"file_id": "not-a-uuid"},
        {"url": ""},
        {"url": "https://example.com/" + "a" * 2000},
    ):
        error_of(await presentai_client.post(url, json=bad, headers=owner), 422, "validation_error")
    for response in (  # another organization's presentation, whatever the file
        await presentai_client.get(f"{P}/{other_deck}/sources", headers=owner),
        await presentai_client.post(
            f"{P}/{other_deck}/sources", json={"file_id": file_id}, headers=owner
        ),
        await presentai_client.delete(f"{P}/{other_deck}/sources/{source['id']}", headers=owner),
    ):
        error_of(response, 404, "not_found")
    error_of(  # a source of another presentation
        await presentai_client.delete(f"{P}/{deck}/sources/{uuid.uuid4()}", headers=owner),
        404,
        "not_found",
    )


async def test_add_by_url_goes_through_the_ssrf_guard(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page = (
        "<html><head><title>Plants</title></head><body><p>Chlorophyll absorbs sunlight.</p>"
        "</body></html>"
    )

    async def plants(_: Any) -> Response:
        return Response(page, media_type="text/html")

    owner, org_id, deck = await _deck(presentai_client)
    url = f"{P}/{deck}/sources"
    with ServerThread(Starlette(routes=[Route("/wiki/plants", plants)])) as server:
        added = await presentai_client.post(
            url, json={"url": f"{server.url}/wiki/plants"}, headers=owner
        )
        assert added.status_code == 201, added.text
        same = await presentai_client.post(
            url, json={"url": f"{server.url}/wiki/plants?again=1"}, headers=owner
        )
        error_of(same, 409, "conflict")  # the same content is already a source
    source = added.json()
    assert (source["filename"], source["kind"]) == ("plants", "html")
    assert source["source_url"].endswith("/wiki/plants")
    assert [job.payload["document_id"] for job in await _jobs(runtime, INGEST_JOB)] == [
        source["document_id"]
    ]
    await run_jobs(runtime)
    assert await _chunks(runtime, org_id, source["document_id"]) > 0
    for refused in ("http://169.254.169.254/latest/meta-data/", "ftp://example.com/x", "nope"):
        error_of(
            await presentai_client.post(url, json={"url": refused}, headers=owner),
            422,
            "validation_error",
        )
    async with runtime.db.session() as session:
        count = len((await session.scalars(select(SourceDocument.id))).all())
    assert count == 1  # refused imports stored nothing


async def test_upload_as_a_source(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner, _, deck = await _deck(presentai_client)
    url = f"{P}/{deck}/sources/upload"
    big = NOTES + b"More text about leaves and light.\n" * 3000  # > the 64 KiB JSON body cap
    assert 64 * 1024 < len(big) < LIMIT
    uploaded = await presentai_client.post(
        url, files={"file": ("plants.md", big, "text/markdown")}, headers=owner
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["filename"], uploaded.json()["size_bytes"]) == ("plants.md", len(big))
    error_of(
        await presentai_client.post(url, files={"file": ("copy.md", big)}, headers=owner),
        409,
        "conflict",
    )
    too_big = await presentai_client.post(
        url, files={"file": ("big.txt", b"a" * (LIMIT + 1))}, headers=owner
    )
    assert error_of(too_big, 413, "file_too_large")["max_bytes"] == LIMIT
    error_of(
        await presentai_client.post(
            url, files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)}, headers=owner
        ),
        415,
        "unsupported_file_type",
    )
    error_of(
        await presentai_client.post(url, files={"other": ("a.txt", b"hi")}, headers=owner),
        422,
        "validation_error",
    )
    stranger_refused = await presentai_client.post(
        url,
        files={"file": ("a.txt", b"hello")},
        headers=await bearer(presentai_client, "x@example.com"),
    )
    error_of(stranger_refused, 404, "not_found")
    listed = (await presentai_client.get(f"{P}/{deck}/sources", headers=owner)).json()["items"]
    assert [s["filename"] for s in listed] == ["plants.md"]
    await set_columns(runtime, deck, status="outline_generating")
    error_of(
        await presentai_client.post(url, files={"file": ("b.txt", b"other")}, headers=owner),
        409,
        "conflict",
    )


async def test_removing_a_source_deletes_the_document_only_when_unused(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, deck = await _deck(presentai_client)
    file_id = await _upload_file(presentai_client, owner, org_id)
    added = await presentai_client.post(
        f"{P}/{deck}/sources", json={"file_id": file_id}, headers=owner
    )
    await run_jobs(runtime)
    assert await _chunks(runtime, org_id, file_id) > 0
    copy = (await presentai_client.post(f"{P}/{deck}/duplicate", headers=owner)).json()
    [copied_source] = copy["sources"]
    assert copied_source["document_id"] == file_id and copied_source["id"] != added.json()["id"]

    await set_columns(runtime, deck, status="slides_generating")
    error_of(
        await presentai_client.delete(f"{P}/{deck}/sources/{added.json()['id']}", headers=owner),
        409,
        "conflict",
    )
    await set_columns(runtime, deck, status="ready")
    removed = await presentai_client.delete(
        f"{P}/{deck}/sources/{added.json()['id']}", headers=owner
    )
    assert removed.status_code == 204, removed.text
    assert (await presentai_client.get(f"{P}/{deck}/sources", headers=owner)).json()["items"] == []
    assert await _jobs(runtime, DELETE_JOB) == []  # the copy still uses the document
    async with runtime.db.session() as session:
        document = await session.get(SourceDocument, uuid.UUID(file_id))
        assert document is not None
        storage_key = document.storage_key
    assert await _chunks(runtime, org_id, file_id) > 0

    removed = await presentai_client.delete(
        f"{P}/{copy['id']}/sources/{copied_source['id']}", headers=owner
    )
    assert removed.status_code == 204
    [deletion] = await _jobs(runtime, DELETE_JOB)
    assert deletion.payload == {
        "organization_id": org_id,
        "document_id": file_id,
        "storage_key": storage_key,
    }
    error_of(await presentai_client.get(f"{API}/files/{file_id}", headers=owner), 404, "not_found")
    await run_jobs(runtime)
    assert await _chunks(runtime, org_id, file_id) == 0
    assert not (runtime.settings.data_dir / "files" / storage_key).exists()
    async with runtime.db.session() as session:
        assert await session.get(SourceDocument, uuid.UUID(file_id)) is None
        assert (await session.scalars(select(PresentationSource))).all() == []
        assert await session.get(Presentation, uuid.UUID(copy["id"])) is not None
    log = await presentai_client.get(f"{API}/organizations/{org_id}/audit-logs", headers=owner)
    actions = [e["action"] for e in log.json()["items"]]
    assert actions.count("presentation.source_removed") == 2
    assert "presentation.source_added" in actions
