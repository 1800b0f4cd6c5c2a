"""Invitations: the inviter gets the token (and it is e-mailed), the invitee joins once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.jobs import Job
from parmenid.identity.models import Invitation
from parmenid.runtime import Runtime
from tests.helpers import login, register

API = "/api/v1/organizations"


async def _headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email)
    return {"Authorization": f"Bearer {(await login(client, email))['access_token']}"}


async def test_invite_then_accept_joins_with_the_role(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await _headers(presentai_client, "owner@example.com")
    org = (await presentai_client.post(API, json={"name": "Acme"}, headers=owner)).json()
    invited = await presentai_client.post(
        f"{API}/{org['id']}/members/invite",
        json={"email": "New.Person@Example.com", "role": "editor"},
        headers=owner,
    )
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert (invitation["email"], invitation["role"]) == ("new.person@example.com", "editor")
    assert invitation["token"].startswith("inv_")
    assert invitation["accept_url"].endswith(invitation["token"])
    async with runtime.db.session() as session:
        mail = await session.scalar(
            select(Job).where(Job.name == "notify.email").order_by(Job.created_at.desc())
        )
        stored = await session.scalar(select(Invitation))
    assert mail is not None and mail.payload["to"] == "new.person@example.com"
    assert invitation["token"] in mail.payload["text"]
    assert stored is not None and invitation["token"] not in stored.token_hash  # only a hash

    other = await _headers(presentai_client, "other@example.com")
    wrong = await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=other
    )
    assert wrong.status_code == 422 and wrong.json()["error"] == "validation_error"

    newcomer = await _headers(presentai_client, "new.person@example.com")
    joined = await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=newcomer
    )
    assert joined.status_code == 200, joined.text
    assert (joined.json()["id"], joined.json()["role"]) == (org["id"], "editor")
    again = await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=newcomer
    )
    assert again.status_code == 410 and again.json()["error"] == "gone"
    member = await presentai_client.get(f"{API}/{org['id']}", headers=newcomer)
    assert member.json()["role"] == "editor"


async def test_invitation_rules(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await _headers(presentai_client, "owner@example.com")
    org = (await presentai_client.post(API, json={"name": "Acme"}, headers=owner)).json()
    invite = f"{API}/{org['id']}/members/invite"
    conflict = await presentai_client.post(
        invite, json={"email": "owner@example.com"}, headers=owner
    )
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
    bad = await presentai_client.post(invite, json={"email": "not-an-email"}, headers=owner)
    assert bad.status_code == 422
    stranger = await _headers(presentai_client, "stranger@example.com")
    hidden = await presentai_client.post(invite, json={"email": "x@example.com"}, headers=stranger)
    assert hidden.status_code == 404
    unknown = await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": "inv_nope"}, headers=stranger
    )
    assert unknown.status_code == 404

    token = (
        await presentai_client.post(invite, json={"email": "late@example.com"}, headers=owner)
    ).json()["token"]
    async with runtime.db.session() as session:
        await session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await _headers(presentai_client, "late@example.com")
    expired = await presentai_client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=late
    )
    assert expired.status_code == 410
