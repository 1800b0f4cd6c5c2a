"""GDPR: the personal-data export and account erasure (checked on the database itself)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
from sqlalchemy import select, text

from parmenid.core.db import Base
from parmenid.identity.audit import AuditEntry
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.helpers import PASSWORD, bearer, error_of

API = "/api/v1"


async def _org(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    created = await client.post(f"{API}/organizations", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    org_id: str = created.json()["id"]
    return org_id


async def _join(
    client: httpx.AsyncClient,
    owner: dict[str, str],
    org_id: str,
    member: dict[str, str],
    email: str,
) -> None:
    invite = await client.post(
        f"{API}/organizations/{org_id}/members/invite",
        json={"email": email, "role": "editor"},
        headers=owner,
    )
    accepted = await client.post(
        f"{API}/invitations/accept", json={"token": invite.json()["token"]}, headers=member
    )
    assert accepted.status_code == 200, accepted.text


async def _everything(runtime: Runtime) -> str:
    """Every value of every row of every table, as one string to search in."""
    parts: list[str] = []
    async with runtime.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


async def test_the_export_holds_everything_personal(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    me = await bearer(presentai_client, "anna@example.com", full_name="Анна Петрова")
    org_id = await _org(presentai_client, me, "Acme")
    key = await presentai_client.post(
        f"{API}/api-keys",
        json={"organization_id": org_id, "name": "CI", "scopes": ["usage:read"]},
        headers=me,
    )
    started = await presentai_client.post(f"{API}/users/me/export-data", headers=me)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "pending"
    await run_jobs(runtime)
    status = (await presentai_client.get(started.json()["status_url"], headers=me)).json()
    assert status["status"] == "ready" and status["download_url"]
    downloaded = await presentai_client.get(status["download_url"])
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(downloaded.content))
    assert set(archive.namelist()) >= {
        "README.txt",
        "profile.json",
        "memberships.json",
        "sessions.json",
        "api_keys.json",
        "invitations.json",
        "audit_log.json",
        "content/sources.json",
    }

    def part(name: str) -> Any:
        return json.loads(archive.read(name))

    assert part("profile.json")["email"] == "anna@example.com"
    assert part("profile.json")["full_name"] == "Анна Петрова"
    assert {m["organization_name"] for m in part("memberships.json")} >= {"Acme"}
    assert part("sessions.json")[0]["ip"] == "127.0.0.1"
    keys = part("api_keys.json")
    assert [k["prefix"] for k in keys] == [key.json()["prefix"]]
    assert key.json()["key"] not in archive.read("api_keys.json").decode()
    actions = [e["action"] for e in part("audit_log.json")]
    assert {"security.login", "organization.created", "api_key.created"} <= set(actions)
    login = next(e for e in part("audit_log.json") if e["action"] == "security.login")
    assert login["ip"] == "127.0.0.1"
    # Someone else cannot see the export's status.
    other = await bearer(presentai_client, "other@example.com")
    error_of(
        await presentai_client.get(started.json()["status_url"], headers=other), 404, "not_found"
    )


async def test_erasure_is_refused_while_others_depend_on_the_only_owner(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    anna = await bearer(presentai_client, "anna@example.com", full_name="Анна Петрова")
    boris = await bearer(presentai_client, "boris@example.com")
    shared = await _org(presentai_client, anna, "Shared")
    await _join(presentai_client, anna, shared, boris, "boris@example.com")
    before = await _everything(runtime)
    refused = await presentai_client.request(
        "DELETE", f"{API}/users/me", json={"password": PASSWORD}, headers=anna
    )
    body = error_of(refused, 409, "conflict")
    assert [o["name"] for o in body["organizations"]] == ["Shared"]
    assert "Shared" in body["message"]
    assert await _everything(runtime) == before
    wrong = await presentai_client.request(
        "DELETE", f"{API}/users/me", json={"password": "Wrong-pass-123"}, headers=anna
    )
    error_of(wrong, 422, "validation_error")


async def test_erasure_leaves_no_personal_data(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    anna = await bearer(
        presentai_client,
        "anna@example.com",
        full_name="Анна Петрова",
    )
    anna_id = (await presentai_client.get(f"{API}/users/me", headers=anna)).json()["id"]
    boris = await bearer(presentai_client, "boris@example.com")
    shared = await _org(presentai_client, anna, "Shared")
    solo = await _org(presentai_client, anna, "Solo")
    await _join(presentai_client, anna, shared, boris, "boris@example.com")
    await presentai_client.post(
        f"{API}/organizations/{shared}/members/invite",
        json={"email": "anna-alias@example.com", "role": "viewer"},
        headers=anna,
    )
    key = await presentai_client.post(
        f"{API}/api-keys",
        json={"organization_id": shared, "name": "anna's key", "scopes": ["organizations:read"]},
        headers=anna,
    )
    boris_id = (await presentai_client.get(f"{API}/users/me", headers=boris)).json()["id"]
    promoted = await presentai_client.patch(
        f"{API}/organizations/{shared}/members/{boris_id}", json={"role": "owner"}, headers=anna
    )
    assert promoted.status_code == 200
    await presentai_client.post(f"{API}/users/me/export-data", headers=anna)
    await run_jobs(runtime)

    erased = await presentai_client.request(
        "DELETE", f"{API}/users/me", json={"password": PASSWORD}, headers=anna
    )
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["deleted"] is True and report["api_keys_revoked"] == 1
    assert solo in report["organizations_deleted"] and shared not in report["organizations_deleted"]
    await run_jobs(runtime)

    error_of(await presentai_client.get(f"{API}/users/me", headers=anna), 401, "unauthorized")
    error_of(
        await presentai_client.get(
            f"{API}/organizations/{shared}", headers={"X-API-Key": key.json()["key"]}
        ),
        401,
        "unauthorized",
    )
    relogin = await presentai_client.post(
        f"{API}/auth/login", json={"email": "anna@example.com", "password": PASSWORD}
    )
    assert relogin.status_code == 401
    members = (
        await presentai_client.get(f"{API}/organizations/{shared}/members", headers=boris)
    ).json()["items"]
    assert [m["user_id"] for m in members] == [boris_id]
    assert (
        await presentai_client.get(f"{API}/organizations/{solo}", headers=boris)
    ).status_code == 404

    everything = await _everything(runtime)
    # The pending invitation Anna sent is cancelled with her account.
    for personal in ("anna@example.com", "Анна Петрова", "anna-alias@example.com"):
        leaks = [line for line in everything.splitlines() if personal in line]
        assert leaks == [], personal
    async with runtime.db.session() as session:
        for table in (
            "users",
            "memberships",
            "auth_sessions",
            "refresh_tokens",
            "personal_data_keys",
        ):
            rows = await session.execute(text(f"SELECT * FROM {table}"))
            assert anna_id.replace("-", "") not in repr(rows.all()).replace("-", "")
        sealed = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "organization.created")
            )
        ).all()
        assert sealed and all(e.sealed_client and e.ip is None for e in sealed)
    # The shared organization's log keeps the entries, with the addresses now unreadable.
    log = await presentai_client.get(f"{API}/organizations/{shared}/audit-logs", headers=boris)
    by_anna = [e for e in log.json()["items"] if e["actor"]["id"] == anna_id]
    assert by_anna and {(e["ip"], e["actor"]["email"]) for e in by_anna} == {("[erased]", None)}
    files = list((runtime.settings.data_dir / "files").rglob("personal-data.zip"))
    assert files == []


async def test_an_erased_organization_takes_every_file_it_owns(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Files of every kind (a source, a brand kit's logo and template, an export) are deleted
    with the organization of a sole member who erases their account."""
    import uuid

    from parmenid.presentai.brand_kits.models import BrandKit
    from parmenid.presentai.exports.models import ExportJob
    from tests.presentai.generation_support import deck_with_source

    deck = await deck_with_source(presentai_client, runtime, sample="pep-0257.docx")
    assert runtime.storage is not None
    org = uuid.UUID(deck.organization_id)
    owned = {
        "brand-kits/x/logo.png": b"png",
        "brand-kits/x/template.pptx": b"pptx",
        "exports/x/deck.pdf": b"%PDF",
    }
    for key, data in owned.items():
        await runtime.storage.put(key, data)
    async with runtime.db.session() as session:
        session.add(
            BrandKit(
                organization_id=org,
                name="Kit",
                logo_storage_key="brand-kits/x/logo.png",
                template_storage_key="brand-kits/x/template.pptx",
            )
        )
        session.add(
            ExportJob(
                organization_id=org,
                presentation_id=uuid.UUID(deck.presentation_id),
                format="pdf",
                storage_key="exports/x/deck.pdf",
            )
        )
    erased = await presentai_client.request(
        "DELETE", f"{API}/users/me", json={"password": PASSWORD}, headers=deck.headers
    )
    assert erased.status_code == 200, erased.text
    assert deck.organization_id in erased.json()["organizations_deleted"]
    await run_jobs(runtime)
    for key in owned:
        assert not await runtime.storage.exists(key), key
    left = list((runtime.settings.data_dir / "files" / "documents").rglob("*"))
    assert [p for p in left if p.is_file()] == []
