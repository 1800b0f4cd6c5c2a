"""The audit log: recorded mutations and security events, filters, pagination, CSV export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from parmenid.core.db import utcnow
from parmenid.core.downloads import LinkSigner, PreparedFile
from parmenid.core.jobs import Job
from parmenid.identity.audit import AuditEntry
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.helpers import bearer, error_of

API = "/api/v1"


async def _org(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=headers)
    assert created.status_code == 201
    org_id: str = created.json()["id"]
    return org_id


async def _log(
    client: httpx.AsyncClient, org_id: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"{API}/organizations/{org_id}/audit-logs", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_mutations_are_recorded_with_actor_target_and_changes(
    presentai_client: httpx.AsyncClient,
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    headers = {**owner, "User-Agent": "audit-test/1.0"}
    await presentai_client.patch(
        f"{API}/organizations/{org_id}", json={"name": "Acme Inc"}, headers=headers
    )
    await presentai_client.post(
        f"{API}/organizations/{org_id}/members/invite",
        json={"email": "new@example.com", "role": "editor"},
        headers=headers,
    )
    key = await presentai_client.post(
        f"{API}/api-keys",
        json={"organization_id": org_id, "name": "CI", "scopes": ["audit:read"]},
        headers=headers,
    )
    body = await _log(presentai_client, org_id, owner)
    actions = [entry["action"] for entry in body["items"]]
    assert actions == [
        "api_key.created",
        "invitation.created",
        "organization.updated",
        "organization.created",
    ]
    renamed = body["items"][2]
    assert renamed["actor"]["type"] == "user"
    assert renamed["actor"]["email"] == "owner@example.com"
    assert renamed["target"] == {"type": "organization", "id": org_id}
    assert renamed["changes"] == {"name": {"from": "Acme", "to": "Acme Inc"}}
    assert (renamed["ip"], renamed["user_agent"]) == ("127.0.0.1", "audit-test/1.0")
    assert renamed["request_id"]
    # A key's reads are not mutations; its use from a new address is a security event.
    with_key = {"X-API-Key": key.json()["key"]}
    by_key = await _log(presentai_client, org_id, with_key, action="security.*")
    assert [e["action"] for e in by_key["items"]] == ["security.api_key_new_ip"]
    assert by_key["items"][0]["actor"] == {
        "type": "api_key",
        "id": key.json()["id"],
        "email": None,
    }


async def test_failed_requests_leave_no_entry_and_logins_are_security_events(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    taken = await presentai_client.post(
        f"{API}/organizations", json={"name": "B", "slug": "x!"}, headers=owner
    )
    assert taken.status_code == 422
    wrong = await presentai_client.post(
        f"{API}/auth/login", json={"email": "owner@example.com", "password": "nope-nope-1A"}
    )
    assert wrong.status_code == 401
    entries = (await _log(presentai_client, org_id, owner))["items"]
    assert [e["action"] for e in entries] == ["organization.created"]
    async with runtime.db.session() as session:
        security = (
            await session.execute(
                text("SELECT action FROM audit_entries WHERE action LIKE 'security.%' ORDER BY id")
            )
        ).scalars()
        assert list(security) == ["security.login", "security.login_failed"]


async def test_filters_and_cursor_pagination(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    for n in range(7):
        await presentai_client.patch(
            f"{API}/organizations/{org_id}", json={"name": f"Acme {n}"}, headers=owner
        )
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "action": "organization.updated"}
        if cursor:
            params["cursor"] = cursor
        page = await _log(presentai_client, org_id, owner, **params)
        seen.extend(entry["id"] for entry in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)
    prefixed = await _log(presentai_client, org_id, owner, action="organization.*")
    assert len(prefixed["items"]) == 8
    me = (await presentai_client.get(f"{API}/users/me", headers=owner)).json()["id"]
    assert len((await _log(presentai_client, org_id, owner, actor_id=me))["items"]) == 8
    assert (await _log(presentai_client, org_id, owner, since="2999-01-01T00:00:00Z"))[
        "items"
    ] == []
    bad = await presentai_client.get(
        f"{API}/organizations/{org_id}/audit-logs", params={"cursor": "garbage"}, headers=owner
    )
    error_of(bad, 422, "validation_error")


async def test_only_admins_and_owners_read_the_log(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    editor = await bearer(presentai_client, "editor@example.com")
    invite = await presentai_client.post(
        f"{API}/organizations/{org_id}/members/invite",
        json={"email": "editor@example.com", "role": "editor"},
        headers=owner,
    )
    accepted = await presentai_client.post(
        f"{API}/invitations/accept", json={"token": invite.json()["token"]}, headers=editor
    )
    assert accepted.status_code == 200
    body = error_of(
        await presentai_client.get(f"{API}/organizations/{org_id}/audit-logs", headers=editor),
        403,
        "insufficient_role",
    )
    assert (body["required"], body["current"]) == ("admin", "editor")


async def test_the_database_refuses_to_change_audit_rows(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await bearer(presentai_client, "owner@example.com")
    for statement in (
        update(AuditEntry).values(action="tampered"),
        text("DELETE FROM audit_entries"),
    ):
        with pytest.raises((DBAPIError, IntegrityError, OperationalError)):
            async with runtime.db.session() as session:
                await session.execute(statement)
    async with runtime.db.session() as session:
        actions = (await session.execute(text("SELECT action FROM audit_entries"))).scalars()
        assert "tampered" not in list(actions)


INJECTIONS = ['=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", 'a,"b"\nc']


async def test_csv_export_escapes_formulas_and_round_trips(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    for name in INJECTIONS:
        changed = await presentai_client.patch(
            f"{API}/organizations/{org_id}",
            json={"name": name},
            headers={**owner, "User-Agent": name.strip() or "x"},
        )
        assert changed.status_code == 200, changed.text
    started = await presentai_client.post(
        f"{API}/organizations/{org_id}/audit-logs/export",
        json={"action": "organization.updated"},
        headers=owner,
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "pending" and started.json()["download_url"] is None
    assert await run_jobs(runtime) >= 1
    status = await presentai_client.get(started.json()["status_url"], headers=owner)
    assert status.json()["status"] == "ready", status.text
    link = status.json()["download_url"]
    downloaded = await presentai_client.get(link)  # the signed link needs no credentials
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"].startswith("text/csv")
    raw = downloaded.content.decode()
    assert raw.count("\r\n") >= len(INJECTIONS) + 1
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == len(INJECTIONS)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    user_agents = {row["user_agent"] for row in rows}
    assert '\'=HYPERLINK("http://evil")' in user_agents
    assert "'@SUM(A1)" in user_agents
    names = {json.loads(row["changes"])["name"]["to"] for row in rows}
    assert names == set(INJECTIONS)  # quotes, commas and line breaks survive the round trip


async def test_download_links_are_signed_and_expire(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    started = await presentai_client.post(
        f"{API}/organizations/{org_id}/audit-logs/export", headers=owner
    )
    await run_jobs(runtime)
    link = (await presentai_client.get(started.json()["status_url"], headers=owner)).json()[
        "download_url"
    ]
    token = link.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    error_of(await presentai_client.get(f"{API}/downloads/{forged}"), 404, "not_found")
    assert (await presentai_client.get(f"{API}/downloads/{token}")).status_code == 200
    expired, _ = LinkSigner(runtime.settings.jwt_secret()).sign(uuid.UUID(started.json()["id"]), -1)
    error_of(await presentai_client.get(f"{API}/downloads/{expired}"), 410, "gone")
    other = await bearer(presentai_client, "other@example.com")
    error_of(
        await presentai_client.get(started.json()["status_url"], headers=other), 404, "not_found"
    )
    missing = f"{API}/organizations/{org_id}/audit-logs/exports/{uuid.uuid4()}"
    error_of(await presentai_client.get(missing, headers=owner), 404, "not_found")


async def test_a_prepared_file_is_deleted_when_its_retention_ends(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    started = await presentai_client.post(
        f"{API}/organizations/{org_id}/audit-logs/export", headers=owner
    )
    await run_jobs(runtime)
    ready = (await presentai_client.get(started.json()["status_url"], headers=owner)).json()
    assert ready["status"] == "ready"
    async with runtime.db.session() as session:
        await session.execute(
            update(PreparedFile).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.execute(update(Job).where(Job.name == "files.expire").values(run_at=utcnow()))
    await run_jobs(runtime)
    assert list((runtime.settings.data_dir / "files").rglob("*.csv")) == []
    gone = (await presentai_client.get(started.json()["status_url"], headers=owner)).json()
    assert gone["download_url"] is None
    error_of(await presentai_client.get(ready["download_url"]), 410, "gone")
