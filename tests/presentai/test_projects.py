"""`/projects`: create, list (filter, search, cursor), get, update and archive, delete if empty."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from parmenid.presentai.presentations.models import Presentation
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of

API = "/api/v1/projects"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


async def _org(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/api/v1/organizations", json={"name": "Acme"}, headers=headers)
    org_id: str = created.json()["id"]
    return org_id


async def _project(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, name: str, **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        API, json={"organization_id": org_id, "name": name, **extra}, headers=headers
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def test_create_get_update_archive(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    project = await _project(presentai_client, owner, org_id, "Q3 отчёт", description="Итоги")
    assert project | {"id": project["id"]} == project
    assert (project["name"], project["archived"], project["presentations_count"]) == (
        "Q3 отчёт",
        False,
        0,
    )
    got = await presentai_client.get(f"{API}/{project['id']}", headers=owner)
    assert got.json()["description"] == "Итоги"
    archived = await presentai_client.patch(
        f"{API}/{project['id']}", json={"archived": True, "name": "Q3"}, headers=owner
    )
    assert archived.status_code == 200
    assert (archived.json()["archived"], archived.json()["name"]) == (True, "Q3")
    assert archived.json()["archived_at"] is not None
    listed = await presentai_client.get(API, params={"organization_id": org_id}, headers=owner)
    assert listed.json()["items"] == []  # archived projects are hidden by default
    everything = await presentai_client.get(
        API, params={"organization_id": org_id, "archived": "all"}, headers=owner
    )
    assert [p["id"] for p in everything.json()["items"]] == [project["id"]]
    back = await presentai_client.patch(
        f"{API}/{project['id']}", json={"archived": False, "description": None}, headers=owner
    )
    assert (back.json()["archived"], back.json()["description"]) == (False, None)


async def test_search_filters_and_cursor_pages(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    names = [f"Проект {n}" for n in range(7)] + ["Маркетинг 2026", "Sales deck"]
    for name in names:
        await _project(presentai_client, owner, org_id, name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"organization_id": org_id, "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await presentai_client.get(API, params=params, headers=owner)).json()
        seen += [p["name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(names))  # newest first, each once
    found = await presentai_client.get(
        API, params={"organization_id": org_id, "q": "МАРКЕТ"}, headers=owner
    )
    assert [p["name"] for p in found.json()["items"]] == ["Маркетинг 2026"]
    percent = await presentai_client.get(
        API, params={"organization_id": org_id, "q": "%"}, headers=owner
    )
    assert percent.json()["items"] == []
    error_of(
        await presentai_client.get(
            API, params={"organization_id": org_id, "cursor": "garbage"}, headers=owner
        ),
        422,
        "validation_error",
    )


async def test_a_project_with_presentations_is_not_deleted(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    busy = await _project(presentai_client, owner, org_id, "Busy")
    empty = await _project(presentai_client, owner, org_id, "Empty")
    async with runtime.db.session() as session:
        session.add(
            Presentation(
                organization_id=uuid.UUID(org_id),
                project_id=uuid.UUID(busy["id"]),
                title="Deck",
            )
        )
    refused = await presentai_client.delete(f"{API}/{busy['id']}", headers=owner)
    assert error_of(refused, 409, "conflict")["presentations"] == 1
    assert (await presentai_client.get(f"{API}/{busy['id']}", headers=owner)).json()[
        "presentations_count"
    ] == 1
    assert (await presentai_client.delete(f"{API}/{empty['id']}", headers=owner)).status_code == 204
    error_of(await presentai_client.get(f"{API}/{empty['id']}", headers=owner), 404, "not_found")


async def test_roles_and_other_organizations(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    project = await _project(presentai_client, owner, org_id, "Secret")
    viewer = await bearer(presentai_client, "viewer@example.com")
    invite = await presentai_client.post(
        f"/api/v1/organizations/{org_id}/members/invite",
        json={"email": "viewer@example.com", "role": "viewer"},
        headers=owner,
    )
    await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": invite.json()["token"]}, headers=viewer
    )
    assert (await presentai_client.get(f"{API}/{project['id']}", headers=viewer)).status_code == 200
    body = error_of(
        await presentai_client.patch(f"{API}/{project['id']}", json={"name": "x"}, headers=viewer),
        403,
        "insufficient_role",
    )
    assert (body["required"], body["current"]) == ("editor", "viewer")
    stranger = await bearer(presentai_client, "stranger@example.com")
    error_of(
        await presentai_client.get(f"{API}/{project['id']}", headers=stranger), 404, "not_found"
    )
    error_of(
        await presentai_client.get(API, params={"organization_id": org_id}, headers=stranger),
        404,
        "not_found",
    )
    log = await presentai_client.get(f"/api/v1/organizations/{org_id}/audit-logs", headers=owner)
    assert "project.created" in [e["action"] for e in log.json()["items"]]


async def test_a_search_for_nul_is_a_validation_error(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await _org(presentai_client, owner)
    for path in (API, "/api/v1/presentations"):
        response = await presentai_client.get(
            f"{path}?organization_id={org_id}&q=a%00b", headers=owner
        )
        error_of(response, 422, "validation_error")
