"""API keys: shown once, stored hashed, scoped, org-bound; rotation, revocation, last use."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parmenid.identity.api_keys import ApiKey
from parmenid.identity.audit import AuditEntry
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of

API = "/api/v1"


async def _org(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    created = await client.post(f"{API}/organizations", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    org_id: str = created.json()["id"]
    return org_id


async def _key(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, scopes: list[str], **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        f"{API}/api-keys",
        json={"organization_id": org_id, "name": "CI", "scopes": scopes, **extra},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_a_key_is_shown_once_and_stored_hashed(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(presentai_client, owner, org_id, ["organizations:read", "usage:read"])
    secret = created["key"]
    assert (secret.startswith("pai_") and created["prefix"] == secret.rsplit("_", 1)[0]) or (
        secret.startswith(created["prefix"] + "_")
    )
    assert (created["status"], created["scopes"]) == (
        "active",
        ["organizations:read", "usage:read"],
    )
    listed = (await presentai_client.get(f"{API}/api-keys", headers=owner)).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    async with runtime.db.session() as session:
        row = await session.scalar(select(ApiKey))
        assert row is not None
        secret_part = secret[len(created["prefix"]) + 1 :]
        assert row.secret_hash == hashlib.sha256(secret_part.encode()).hexdigest()
        assert secret_part not in str([getattr(row, c.key) for c in ApiKey.__table__.columns])


async def test_a_key_authenticates_within_its_scopes_and_organization(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    other_id = await _org(presentai_client, owner, "Other")
    key = (await _key(presentai_client, owner, org_id, ["organizations:read"]))["key"]
    with_key = {"X-API-Key": key}
    got = await presentai_client.get(f"{API}/organizations/{org_id}", headers=with_key)
    assert got.status_code == 200, got.text
    assert got.json()["role"] is None
    members = await presentai_client.get(f"{API}/organizations/{org_id}/members", headers=with_key)
    assert members.status_code == 200
    # Another organization of the same owner: the key is bound to its own.
    error_of(
        await presentai_client.get(f"{API}/organizations/{other_id}", headers=with_key),
        404,
        "not_found",
    )
    body = error_of(
        await presentai_client.get(f"{API}/organizations/{org_id}/usage", headers=with_key),
        403,
        "insufficient_scope",
    )
    assert body["required_scope"] == "usage:read"
    # Endpoints for people only refuse keys whatever their scopes.
    error_of(
        await presentai_client.get(f"{API}/users/me", headers=with_key), 403, "insufficient_scope"
    )
    error_of(
        await presentai_client.patch(
            f"{API}/organizations/{org_id}", json={"name": "X"}, headers=with_key
        ),
        403,
        "insufficient_scope",
    )
    error_of(
        await presentai_client.get(
            f"{API}/organizations/{org_id}", headers={"X-API-Key": key[:-2] + "xx"}
        ),
        401,
        "unauthorized",
    )


async def test_a_key_in_the_query_string_is_refused(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    key = (await _key(presentai_client, owner, org_id, ["organizations:read"]))["key"]
    for query in ({"api_key": key}, {"x": key}, {"apikey": "whatever"}):
        refused = await presentai_client.get(
            f"{API}/organizations/{org_id}", params=query, headers={"X-API-Key": key}
        )
        body = error_of(refused, 400, "bad_request")
        assert "X-API-Key header" in body["message"]
    both = await presentai_client.get(
        f"{API}/organizations/{org_id}", headers={"X-API-Key": key, **owner}
    )
    error_of(both, 400, "bad_request")


async def test_last_use_and_a_new_address_are_recorded(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(presentai_client, owner, org_id, ["organizations:read"])
    headers = {"X-API-Key": created["key"]}
    assert created["last_used_at"] is None
    for _ in range(2):
        assert (
            await presentai_client.get(f"{API}/organizations/{org_id}", headers=headers)
        ).status_code == 200
    listed = (await presentai_client.get(f"{API}/api-keys", headers=owner)).json()["items"]
    assert listed[0]["last_used_at"] is not None
    async with runtime.db.session() as session:
        events = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "security.api_key_new_ip")
            )
        ).all()
        assert [(e.ip, e.target_id) for e in events] == [("127.0.0.1", created["id"])]


async def test_rotation_kills_the_old_secret_unless_a_grace_period_is_asked(
    presentai_client: httpx.AsyncClient,
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(presentai_client, owner, org_id, ["organizations:read"])
    url = f"{API}/organizations/{org_id}"
    old = {"X-API-Key": created["key"]}
    assert (await presentai_client.get(url, headers=old)).status_code == 200
    rotated = await presentai_client.post(f"{API}/api-keys/{created['id']}/rotate", headers=owner)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["key"]
    assert new_secret != created["key"] and rotated.json()["prefix"] == created["prefix"]
    assert rotated.json()["previous_key_valid_until"] is None
    error_of(await presentai_client.get(url, headers=old), 401, "unauthorized")
    assert (await presentai_client.get(url, headers={"X-API-Key": new_secret})).status_code == 200

    graced = await presentai_client.post(
        f"{API}/api-keys/{created['id']}/rotate",
        json={"grace_period_seconds": 1},
        headers=owner,
    )
    newest = {"X-API-Key": graced.json()["key"]}
    assert graced.json()["previous_key_valid_until"] is not None
    assert (await presentai_client.get(url, headers={"X-API-Key": new_secret})).status_code == 200
    assert (await presentai_client.get(url, headers=newest)).status_code == 200
    await asyncio.sleep(1.1)
    error_of(
        await presentai_client.get(url, headers={"X-API-Key": new_secret}), 401, "unauthorized"
    )
    assert (await presentai_client.get(url, headers=newest)).status_code == 200


async def test_revocation_is_immediate_and_only_admins_manage_keys(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(presentai_client, owner, org_id, ["organizations:read"])
    url = f"{API}/organizations/{org_id}"
    headers = {"X-API-Key": created["key"]}
    assert (await presentai_client.get(url, headers=headers)).status_code == 200  # now cached
    stranger = await bearer(presentai_client, "stranger@example.com")
    error_of(
        await presentai_client.delete(f"{API}/api-keys/{created['id']}", headers=stranger),
        404,
        "not_found",
    )
    error_of(
        await presentai_client.post(
            f"{API}/api-keys",
            json={"organization_id": org_id, "name": "x", "scopes": ["usage:read"]},
            headers=stranger,
        ),
        404,
        "not_found",
    )
    revoked = await presentai_client.delete(f"{API}/api-keys/{created['id']}", headers=owner)
    assert revoked.status_code == 204
    error_of(await presentai_client.get(url, headers=headers), 401, "unauthorized")
    listed = await presentai_client.get(
        f"{API}/api-keys", params={"include_revoked": "true"}, headers=owner
    )
    assert [k["status"] for k in listed.json()["items"]] == ["revoked"]
    assert (await presentai_client.get(f"{API}/api-keys", headers=owner)).json()["items"] == []
    error_of(
        await presentai_client.post(f"{API}/api-keys/{created['id']}/rotate", headers=owner),
        409,
        "conflict",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["everything"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["usage:read"]}, "name"),
        ({"name": "x", "scopes": ["usage:read"], "expires_at": "2000-01-01T00:00:00Z"}, None),
    ],
)
async def test_bad_key_requests_get_a_validation_error(
    presentai_client: httpx.AsyncClient, body: dict[str, Any], field: str | None
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    refused = await presentai_client.post(
        f"{API}/api-keys", json={"organization_id": org_id, **body}, headers=owner
    )
    error = error_of(refused, 422, "validation_error")
    if field:
        assert field in {d["field"].split(".")[0] for d in error["details"]}


async def test_an_expired_key_stops_working(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(
        presentai_client, owner, org_id, ["organizations:read"], expires_at="2999-01-01T00:00:00Z"
    )
    async with runtime.db.session() as session:
        row = await session.get(ApiKey, uuid.UUID(created["id"]))
        assert row is not None
        row.expires_at = row.created_at
    runtime.api_key_cache.forget(row.id)
    error_of(
        await presentai_client.get(
            f"{API}/organizations/{org_id}", headers={"X-API-Key": created["key"]}
        ),
        401,
        "unauthorized",
    )
    listed = (await presentai_client.get(f"{API}/api-keys", headers=owner)).json()["items"]
    assert listed[0]["status"] == "expired"


async def test_a_key_can_change_things_on_its_first_use(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The key's first use (recorded in a transaction of its own) and the request's own
    write both land, and the change is attributed to the key."""
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner, "Acme")
    created = await _key(presentai_client, owner, org_id, ["audit:read"])
    started = await presentai_client.post(
        f"{API}/organizations/{org_id}/audit-logs/export",
        headers={"X-API-Key": created["key"]},
    )
    assert started.status_code == 202, started.text
    log = await presentai_client.get(f"{API}/organizations/{org_id}/audit-logs", headers=owner)
    exported = [e for e in log.json()["items"] if e["action"] == "audit_log.exported"]
    assert [e["actor"]["id"] for e in exported] == [created["id"]]
