"""`/users/me` and an organization's monthly token usage."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from parmenid.core.db import utcnow
from parmenid.identity.models import Membership, User
from parmenid.llm.gateway import CallContext
from parmenid.llm.setup import build_gateway
from parmenid.llm.types import ChatMessage, ChatRequest, ContextPassage
from parmenid.runtime import Runtime
from tests.helpers import login, register


async def _headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email, full_name="Анна")
    return {"Authorization": f"Bearer {(await login(client, email))['access_token']}"}


async def test_me_shows_the_profile_and_organizations(presentai_client: httpx.AsyncClient) -> None:
    headers = await _headers(presentai_client, "me@example.com")
    me = await presentai_client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200
    body = me.json()
    assert (body["email"], body["full_name"], body["status"]) == (
        "me@example.com",
        "Анна",
        "pending",
    )
    assert [(o["role"], o["is_personal"]) for o in body["organizations"]] == [("owner", True)]
    changed = await presentai_client.patch(
        "/api/v1/users/me", json={"full_name": "  Анна Петрова "}, headers=headers
    )
    assert changed.json()["full_name"] == "Анна Петрова"
    again = await presentai_client.get("/api/v1/users/me", headers=headers)
    assert again.json()["full_name"] == "Анна Петрова"
    assert (await presentai_client.get("/api/v1/users/me")).status_code == 401


async def test_usage_reports_this_month_by_day_and_source(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await _headers(presentai_client, "admin@example.com")
    org = (
        await presentai_client.post("/api/v1/organizations", json={"name": "Acme"}, headers=headers)
    ).json()
    empty = (
        await presentai_client.get(f"/api/v1/organizations/{org['id']}/usage", headers=headers)
    ).json()
    assert empty | {"organization_id": org["id"]} == {
        "organization_id": org["id"],
        "month": utcnow().strftime("%Y-%m"),
        "plan": "free",
        "limit": 200_000,
        "used": 0,
        "reserved": 0,
        "remaining": 200_000,
        "by_day": [],
        "by_source": {},
    }
    gateway = build_gateway(runtime.settings.llm, runtime.db)  # the local engine
    request = ChatRequest(
        [ChatMessage("user", "What is the line limit?")],
        context=[ContextPassage("c", "Limit all lines to 79 characters.", "pep8")],
    )
    await gateway.complete(
        request, CallContext(organization_id=uuid.UUID(org["id"]), source="chat")
    )
    usage = (
        await presentai_client.get(f"/api/v1/organizations/{org['id']}/usage", headers=headers)
    ).json()
    assert usage["used"] > 0 and usage["reserved"] == 0
    assert usage["remaining"] == 200_000 - usage["used"]
    assert usage["by_source"] == {"chat": usage["used"]}
    assert usage["by_day"] == [{"date": utcnow().strftime("%Y-%m-%d"), "tokens": usage["used"]}]

    viewer = await _headers(presentai_client, "viewer@example.com")
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == "viewer@example.com"))
        assert user is not None
        session.add(
            Membership(organization_id=uuid.UUID(org["id"]), user_id=user.id, role="viewer")
        )
    refused = await presentai_client.get(f"/api/v1/organizations/{org['id']}/usage", headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_role"
