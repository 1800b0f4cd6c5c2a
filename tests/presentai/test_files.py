"""`/files`: upload (multipart, sniffed type, size cap), import by URL (SSRF guard), status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.server import ServerThread
from tests.helpers import bearer, error_of

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
API = "/api/v1"
LIMIT = 200_000


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"knowledge": {"max_upload_bytes": LIMIT, "allow_loopback_urls": True}}


async def _org(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=headers)
    org_id: str = created.json()["id"]
    return org_id


async def test_an_uploaded_pdf_is_ingested_and_reported(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    pdf = (SAMPLES / "pdflatex-4-pages.pdf").read_bytes()
    uploaded = await presentai_client.post(
        f"{API}/files/upload",
        params={"organization_id": org_id},
        files={"file": ("report.pdf", pdf, "application/octet-stream")},
        headers=owner,
    )
    assert uploaded.status_code == 202, uploaded.text
    body = uploaded.json()
    assert (body["filename"], body["kind"], body["ingestion_status"]) == (
        "report.pdf",
        "pdf",
        "pending",
    )
    assert body["size_bytes"] == len(pdf)
    await run_jobs(runtime)
    status = await presentai_client.get(f"{API}/files/{body['id']}", headers=owner)
    assert status.status_code == 200
    assert status.json()["ingestion_status"] == "indexed", status.json()
    assert status.json()["page_count"] == 4 and status.json()["chunks_created"] > 0
    stranger = await bearer(presentai_client, "stranger@example.com")
    error_of(
        await presentai_client.get(f"{API}/files/{body['id']}", headers=stranger),
        404,
        "not_found",
    )


async def test_uploads_are_refused_clearly(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    url = f"{API}/files/upload?organization_id={org_id}"
    too_big = await presentai_client.post(
        url, files={"file": ("big.txt", b"a" * (LIMIT + 1), "text/plain")}, headers=owner
    )
    assert error_of(too_big, 413, "file_too_large")["max_bytes"] == LIMIT
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    error_of(
        await presentai_client.post(
            url, files={"file": ("notes.pdf", png, "application/pdf")}, headers=owner
        ),
        415,
        "unsupported_file_type",
    )
    error_of(
        await presentai_client.post(url, files={"other": ("a.txt", b"hi")}, headers=owner),
        422,
        "validation_error",
    )
    error_of(
        await presentai_client.post(url, json={"file": "x"}, headers=owner),
        415,
        "unsupported_file_type",
    )
    empty = await presentai_client.post(url, files={"file": ("a.txt", b"")}, headers=owner)
    error_of(empty, 422, "validation_error")
    no_org = await presentai_client.post(
        f"{API}/files/upload", files={"file": ("a.txt", b"hello")}, headers=owner
    )
    error_of(no_org, 422, "validation_error")


async def test_a_locked_pdf_fails_its_ingestion_with_a_reason(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Content that is only found unreadable when parsed fails in the job, and says why."""
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    locked = (SAMPLES / "libreoffice-writer-password.pdf").read_bytes()
    uploaded = await presentai_client.post(
        f"{API}/files/upload?organization_id={org_id}",
        files={"file": ("locked.pdf", locked, "application/pdf")},
        headers=owner,
    )
    assert uploaded.status_code == 202
    await run_jobs(runtime)
    status = await presentai_client.get(f"{API}/files/{uploaded.json()['id']}", headers=owner)
    assert status.json()["ingestion_status"] == "failed"
    assert status.json()["error_code"] == "password_protected"
    assert status.json()["error_message"]


async def test_a_key_uploads_into_its_own_organization(
    presentai_client: httpx.AsyncClient,
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    key = await presentai_client.post(
        f"{API}/api-keys",
        json={"organization_id": org_id, "name": "CI", "scopes": ["presentations:write"]},
        headers=owner,
    )
    uploaded = await presentai_client.post(
        f"{API}/files/upload",
        files={"file": ("notes.md", b"# Notes\n\nPlain text.")},
        headers={"X-API-Key": key.json()["key"]},
    )
    assert uploaded.status_code == 202, uploaded.text
    assert uploaded.json()["organization_id"] == org_id
    reading = await presentai_client.get(
        f"{API}/files/{uploaded.json()['id']}", headers={"X-API-Key": key.json()["key"]}
    )
    error_of(reading, 403, "insufficient_scope")  # reading needs presentations:read


async def test_import_by_url_goes_through_the_ssrf_guard(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page = "<html><head><title>Guide</title></head><body><p>Grounded facts.</p></body></html>"

    async def guide(_: Any) -> Response:
        return Response(page, media_type="text/html")

    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    with ServerThread(Starlette(routes=[Route("/docs/guide", guide)])) as server:
        imported = await presentai_client.post(
            f"{API}/files/url",
            json={"organization_id": org_id, "url": f"{server.url}/docs/guide"},
            headers=owner,
        )
    assert imported.status_code == 202, imported.text
    assert (imported.json()["filename"], imported.json()["kind"]) == ("guide", "html")
    assert imported.json()["source_url"].endswith("/docs/guide")
    await run_jobs(runtime)
    status = await presentai_client.get(f"{API}/files/{imported.json()['id']}", headers=owner)
    assert status.json()["ingestion_status"] == "indexed", status.json()
    for refused in ("http://169.254.169.254/latest/meta-data/", "ftp://example.com/x", "nope"):
        error_of(
            await presentai_client.post(
                f"{API}/files/url",
                json={"organization_id": org_id, "url": refused},
                headers=owner,
            ),
            422,
            "validation_error",
        )
