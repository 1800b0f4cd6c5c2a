"""Organizations and members on PresentAI: roles, 404 for strangers, last-owner rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from parmenid.identity.models import Membership, User
from parmenid.runtime import Runtime
from tests.helpers import login, register

API = "/api/v1/organizations"


async def _user(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _join(runtime: Runtime, organization_id: str, email: str, role: str) -> str:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.add(
            Membership(organization_id=uuid.UUID(organization_id), user_id=user.id, role=role)
        )
    return str(user.id)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_create_list_get_update(presentai_client: httpx.AsyncClient) -> None:
    owner = await _user(presentai_client, "owner@example.com")
    created = await presentai_client.post(API, json={"name": "Acme", "slug": "acme"}, headers=owner)
    assert created.status_code == 201, created.text
    org = created.json()
    assert org | {"id": org["id"], "created_at": org["created_at"]} == {
        "id": org["id"],
        "name": "Acme",
        "slug": "acme",
        "plan": "free",
        "is_personal": False,
        "created_at": org["created_at"],
        "role": "owner",
    }
    mine = (await presentai_client.get(API, headers=owner)).json()["items"]
    assert {item["slug"] for item in mine} >= {"acme"}
    assert len(mine) == 2  # with the personal organization from registration
    got = await presentai_client.get(f"{API}/{org['id']}", headers=owner)
    assert got.json()["name"] == "Acme"
    renamed = await presentai_client.patch(
        f"{API}/{org['id']}", json={"name": "Acme Inc", "slug": "acme-inc"}, headers=owner
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["slug"]) == ("Acme Inc", "acme-inc")


async def test_a_taken_slug_is_a_conflict(presentai_client: httpx.AsyncClient) -> None:
    owner = await _user(presentai_client, "owner@example.com")
    assert (
        await presentai_client.post(API, json={"name": "A", "slug": "same"}, headers=owner)
    ).status_code == 201
    _error(
        await presentai_client.post(API, json={"name": "B", "slug": "same"}, headers=owner),
        409,
        "conflict",
    )
    other = (await presentai_client.post(API, json={"name": "C"}, headers=owner)).json()
    _error(
        await presentai_client.patch(f"{API}/{other['id']}", json={"slug": "same"}, headers=owner),
        409,
        "conflict",
    )
    _error(
        await presentai_client.post(API, json={"name": "D", "slug": "Bad Slug!"}, headers=owner),
        422,
        "validation_error",
    )


async def test_strangers_get_404_and_low_roles_get_insufficient_role(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _user(presentai_client, "owner@example.com")
    viewer = await _user(presentai_client, "viewer@example.com")
    stranger = await _user(presentai_client, "stranger@example.com")
    org = (await presentai_client.post(API, json={"name": "Acme"}, headers=owner)).json()
    await _join(runtime, org["id"], "viewer@example.com", "viewer")

    _error(await presentai_client.get(f"{API}/{org['id']}", headers=stranger), 404, "not_found")
    _error(await presentai_client.get(f"{API}/{uuid.uuid4()}", headers=owner), 404, "not_found")
    assert (await presentai_client.get(f"{API}/{org['id']}", headers=viewer)).json()[
        "role"
    ] == "viewer"
    body = _error(
        await presentai_client.patch(f"{API}/{org['id']}", json={"name": "X"}, headers=viewer),
        403,
        "insufficient_role",
    )
    assert body["message"] == "This action requires admin role or higher"
    assert (body["required"], body["current"]) == ("admin", "viewer")
    _error(await presentai_client.get(API), 401, "unauthorized")


async def test_role_rules_and_the_last_owner(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _user(presentai_client, "owner@example.com")
    admin = await _user(presentai_client, "admin@example.com")
    await register(presentai_client, "editor@example.com")
    org = (await presentai_client.post(API, json={"name": "Acme"}, headers=owner)).json()
    members = f"{API}/{org['id']}/members"
    admin_id = await _join(runtime, org["id"], "admin@example.com", "admin")
    editor_id = await _join(runtime, org["id"], "editor@example.com", "editor")
    owner_id = next(
        m["user_id"]
        for m in (await presentai_client.get(members, headers=owner)).json()["items"]
        if m["role"] == "owner"
    )

    listed = (await presentai_client.get(members, headers=admin)).json()["items"]
    assert {m["email"]: m["role"] for m in listed} == {
        "owner@example.com": "owner",
        "admin@example.com": "admin",
        "editor@example.com": "editor",
    }
    # An admin manages editors, but cannot grant owner or touch an owner.
    promoted = await presentai_client.patch(
        f"{members}/{editor_id}", json={"role": "admin"}, headers=admin
    )
    assert promoted.json()["role"] == "admin"
    body = _error(
        await presentai_client.patch(
            f"{members}/{editor_id}", json={"role": "owner"}, headers=admin
        ),
        403,
        "insufficient_role",
    )
    assert body["required"] == "owner"
    _error(
        await presentai_client.patch(
            f"{members}/{owner_id}", json={"role": "viewer"}, headers=admin
        ),
        403,
        "insufficient_role",
    )
    _error(
        await presentai_client.delete(f"{members}/{owner_id}", headers=admin),
        403,
        "insufficient_role",
    )
    # The last owner can be neither demoted nor removed, not even by themselves.
    _error(
        await presentai_client.patch(
            f"{members}/{owner_id}", json={"role": "admin"}, headers=owner
        ),
        409,
        "conflict",
    )
    _error(await presentai_client.delete(f"{members}/{owner_id}", headers=owner), 409, "conflict")
    # With a second owner, the first may step down.
    assert (
        await presentai_client.patch(f"{members}/{admin_id}", json={"role": "owner"}, headers=owner)
    ).status_code == 200
    stepped = await presentai_client.patch(
        f"{members}/{owner_id}", json={"role": "viewer"}, headers=owner
    )
    assert stepped.json()["role"] == "viewer"
    # Removing a member; a member may leave; unknown members are 404.
    assert (
        await presentai_client.delete(f"{members}/{editor_id}", headers=admin)
    ).status_code == 204
    assert (
        await presentai_client.delete(f"{members}/{owner_id}", headers=owner)
    ).status_code == 204
    _error(await presentai_client.get(f"{API}/{org['id']}", headers=owner), 404, "not_found")
    _error(
        await presentai_client.delete(f"{members}/{uuid.uuid4()}", headers=admin), 404, "not_found"
    )
