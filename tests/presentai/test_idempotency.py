"""`Idempotency-Key` on creating POSTs: replay, mismatch, in flight, scope, expiry."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import func, select, update

from parmenid.core.db import utcnow
from parmenid.core.idempotency import IdempotencyRecord, fingerprint
from parmenid.identity.models import Organization
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of

URL = "/api/v1/organizations"


async def _organizations(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_the_same_request_is_replayed_not_repeated(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = {**await bearer(presentai_client, "owner@example.com"), "Idempotency-Key": "k-1"}
    before = await _organizations(runtime)
    first = await presentai_client.post(URL, json={"name": "Acme"}, headers=owner)
    again = await presentai_client.post(URL, json={"name": "Acme"}, headers=owner)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert await _organizations(runtime) == before + 1


async def test_a_different_body_with_the_same_key_is_refused(
    presentai_client: httpx.AsyncClient,
) -> None:
    owner = {**await bearer(presentai_client, "owner@example.com"), "Idempotency-Key": "k-2"}
    assert (await presentai_client.post(URL, json={"name": "A"}, headers=owner)).status_code == 201
    error_of(
        await presentai_client.post(URL, json={"name": "B"}, headers=owner),
        422,
        "validation_error",
    )


async def test_a_key_in_flight_answers_conflict(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    me = (await presentai_client.get("/api/v1/users/me", headers=owner)).json()["id"]
    body = json.dumps({"name": "Acme"}).encode()
    await runtime.idempotency.begin(
        f"user:{me}", "k-3", fingerprint("POST", "/api/v1/organizations", "", body)
    )
    busy = await presentai_client.post(
        URL,
        content=body,
        headers={**owner, "Idempotency-Key": "k-3", "Content-Type": "application/json"},
    )
    error_of(busy, 409, "conflict")
    assert busy.headers["retry-after"] == "1"


async def test_concurrent_twins_create_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = {**await bearer(presentai_client, "owner@example.com"), "Idempotency-Key": "twin"}
    before = await _organizations(runtime)
    answers = await asyncio.gather(
        *(presentai_client.post(URL, json={"name": "Twin"}, headers=owner) for _ in range(4))
    )
    assert sorted({a.status_code for a in answers}) in ([201], [201, 409])
    assert await _organizations(runtime) == before + 1
    created = [a.json()["id"] for a in answers if a.status_code == 201]
    assert len(set(created)) == 1


async def test_a_failed_request_releases_its_key(presentai_client: httpx.AsyncClient) -> None:
    owner = {**await bearer(presentai_client, "owner@example.com"), "Idempotency-Key": "k-4"}
    bad = await presentai_client.post(URL, json={"name": "A", "slug": "!!"}, headers=owner)
    error_of(bad, 422, "validation_error")
    fixed = await presentai_client.post(URL, json={"name": "A", "slug": "acme"}, headers=owner)
    assert fixed.status_code == 201, fixed.text


async def test_keys_belong_to_their_principal_and_expire(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    anna = {**await bearer(presentai_client, "anna@example.com"), "Idempotency-Key": "same"}
    boris = {**await bearer(presentai_client, "boris@example.com"), "Idempotency-Key": "same"}
    mine = await presentai_client.post(URL, json={"name": "Org"}, headers=anna)
    theirs = await presentai_client.post(URL, json={"name": "Org"}, headers=boris)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    async with runtime.db.session() as session:
        await session.execute(update(IdempotencyRecord).values(expires_at=utcnow()))
    later = await presentai_client.post(URL, json={"name": "Org"}, headers=anna)
    assert later.status_code == 201 and later.json()["id"] != mine.json()["id"]


async def test_a_malformed_key_is_a_bad_request(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    for key in ("x" * 256, "with space"):
        refused = await presentai_client.post(
            URL, json={"name": "A"}, headers={**owner, "Idempotency-Key": key}
        )
        error_of(refused, 400, "bad_request")
