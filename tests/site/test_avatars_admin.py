"""The admin API of chat bots (`/api/v1/avatars`): settings and conversations, by the caller's
role in the avatar's organization (documents: `test_avatar_documents.py`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from parmenid.runtime import Runtime
from tests.site.avatars_support import (
    AVATAR_KEYS,
    AVATARS,
    SETTINGS,
    Team,
    create_avatar,
    document_count,
    make_team,
    upload,
)
from tests.site.chat_support import KNOWLEDGE, make_avatar
from tests.site.support import ISO_UTC_Z, Cases, assert_error, assert_validation_error


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return SETTINGS


@pytest.fixture
async def team(site_client: httpx.AsyncClient, runtime: Runtime) -> Team:
    return await make_team(site_client, runtime)


# --- avatars -----------------------------------------------------------------------------------


async def test_an_admin_creates_an_avatar_and_members_read_it(
    site_client: httpx.AsyncClient, team: Team
) -> None:
    created = await create_avatar(
        site_client,
        team,
        "admin",
        description="Помогу с тарифами",
        avatar_image_url="https://cdn.example.com/bot.png",
        primary_color="#10b981",
        welcome_message="Здравствуйте!",
        system_prompt="Отвечай кратко.",
        language="en",
        allowed_origins=["https://Example.com/", "http://localhost:3000"],
        is_active=True,
        max_messages_per_session=20,
        max_message_chars=500,
    )
    assert set(created) == AVATAR_KEYS
    assert created["organization_id"] == str(team.organization_id)
    assert created["allowed_origins"] == ["http://localhost:3000", "https://example.com"]
    assert (created["primary_color"], created["language"]) == ("#10b981", "en")
    assert (created["max_messages_per_session"], created["max_message_chars"]) == (20, 500)
    assert ISO_UTC_Z.match(created["created_at"]), created["created_at"]

    minimal = await create_avatar(site_client, team, name="  Второй  ")
    assert minimal["name"] == "Второй"
    assert minimal["primary_color"] == "#3B82F6"
    assert (minimal["language"], minimal["is_active"], minimal["allowed_origins"]) == (
        "ru",
        True,
        [],
    )

    for who in ("owner", "admin", "editor", "viewer"):
        response = await site_client.get(f"{AVATARS}/{created['id']}", headers=team[who])
        assert response.status_code == 200, (who, response.text)
        assert response.json() == created
        listed = await site_client.get(
            AVATARS, params={"organization_id": str(team.organization_id)}, headers=team[who]
        )
        assert [item["id"] for item in listed.json()["items"]] == [created["id"], minimal["id"]]
        everything = await site_client.get(AVATARS, headers=team[who])
        assert {item["id"] for item in everything.json()["items"]} == {
            created["id"],
            minimal["id"],
        }


async def test_patch_changes_only_the_fields_sent(
    site_client: httpx.AsyncClient, team: Team
) -> None:
    avatar = await create_avatar(site_client, team, description="Старое описание")
    response = await site_client.patch(
        f"{AVATARS}/{avatar['id']}",
        json={"name": "Новое имя", "is_active": False, "allowed_origins": ["https://a.example"]},
        headers=team["admin"],
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["is_active"]) == ("Новое имя", False)
    assert changed["allowed_origins"] == ["https://a.example"]
    assert changed["description"] == "Старое описание"
    cleared = await site_client.patch(
        f"{AVATARS}/{avatar['id']}", json={"description": None}, headers=team["owner"]
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["description"] is None
    assert cleared.json()["name"] == "Новое имя"


async def test_roles_decide_what_a_member_may_do(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    url = f"{AVATARS}/{avatar['id']}"
    body = {"organization_id": str(team.organization_id), "name": "X"}
    cases = Cases()
    refused = [
        ("viewer", "POST", AVATARS, body, "admin"),
        ("editor", "POST", AVATARS, body, "admin"),
        ("viewer", "PATCH", url, {"name": "X"}, "admin"),
        ("editor", "PATCH", url, {"name": "X"}, "admin"),
        ("viewer", "DELETE", url, None, "admin"),
        ("editor", "DELETE", url, None, "admin"),
        ("viewer", "GET", f"{url}/sessions", None, "admin"),
        ("editor", "GET", f"{url}/sessions", None, "admin"),
        ("viewer", "POST", f"{url}/documents/url", {"url": "https://example.com"}, "editor"),
        ("viewer", "DELETE", f"{url}/documents/{uuid.uuid4()}", None, "editor"),
    ]
    for who, method, target, json_body, required in refused:
        with cases.case((who, method, target)):
            response = await site_client.request(method, target, json=json_body, headers=team[who])
            error = assert_error(response, 403, "FORBIDDEN")
            assert (error["required"], error["current"]) == (required, who)
            assert error["message"] == f"Для этого действия нужна роль {required} или выше"
    with cases.case("viewer upload"):
        response = await upload(site_client, avatar["id"], team["viewer"], KNOWLEDGE.encode())
        assert_error(response, 403, "FORBIDDEN")
    with cases.case("english"):
        response = await site_client.patch(
            url, json={"name": "X"}, headers={**team["viewer"], "Accept-Language": "en"}
        )
        error = assert_error(response, 403, "FORBIDDEN")
        assert error["message"] == "This action requires admin role or higher"
    cases.check()
    assert await document_count(runtime) == 0

    # an editor manages documents; an admin changes the avatar and reads conversations
    response = await upload(site_client, avatar["id"], team["editor"], KNOWLEDGE.encode())
    assert response.status_code == 202, response.text
    document_id = response.json()["id"]
    response = await site_client.delete(f"{url}/documents/{document_id}", headers=team["editor"])
    assert response.status_code == 204, response.text
    response = await site_client.patch(url, json={"name": "Y"}, headers=team["admin"])
    assert response.status_code == 200, response.text
    response = await site_client.get(f"{url}/sessions", headers=team["admin"])
    assert response.status_code == 200, response.text
    response = await site_client.delete(url, headers=team["admin"])
    assert response.status_code == 204, response.text
    assert response.content == b""
    response = await site_client.get(url, headers=team["owner"])
    assert_error(response, 404, "NOT_FOUND")


async def test_a_stranger_gets_not_found_never_forbidden(
    site_client: httpx.AsyncClient, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    url = f"{AVATARS}/{avatar['id']}"
    stranger = team["stranger"]
    cases = Cases()
    for method, target, json_body in [
        ("GET", url, None),
        ("PATCH", url, {"name": "Взлом"}),
        ("DELETE", url, None),
        ("GET", f"{url}/documents", None),
        ("POST", f"{url}/documents/url", {"url": "https://example.com/"}),
        ("DELETE", f"{url}/documents/{uuid.uuid4()}", None),
        ("GET", f"{url}/sessions", None),
        ("GET", f"{url}/sessions/{uuid.uuid4()}/messages", None),
        ("GET", f"{AVATARS}/{uuid.uuid4()}", None),
        ("POST", AVATARS, {"organization_id": str(team.organization_id), "name": "X"}),
    ]:
        with cases.case((method, target)):
            response = await site_client.request(method, target, json=json_body, headers=stranger)
            assert_error(response, 404, "NOT_FOUND")
    with cases.case("upload"):
        assert_error(await upload(site_client, avatar["id"], stranger, b"# x\n"), 404)
    with cases.case("list of the organization"):
        response = await site_client.get(
            AVATARS, params={"organization_id": str(team.organization_id)}, headers=stranger
        )
        assert_error(response, 404, "NOT_FOUND")
    with cases.case("list of own organizations"):
        response = await site_client.get(AVATARS, headers=stranger)
        assert response.status_code == 200, response.text
        assert response.json() == {"items": []}
    cases.check()
    still = await site_client.get(url, headers=team["owner"])
    assert still.json()["name"] == avatar["name"]


async def test_signing_in_is_required(site_client: httpx.AsyncClient, team: Team) -> None:
    avatar = await create_avatar(site_client, team)
    for method, target in [
        ("GET", AVATARS),
        ("POST", AVATARS),
        ("GET", f"{AVATARS}/{avatar['id']}"),
        ("POST", f"{AVATARS}/{avatar['id']}/documents"),
    ]:
        response = await site_client.request(method, target)
        assert_error(response, 401, "UNAUTHORIZED")


async def test_invalid_settings_are_validation_errors(
    site_client: httpx.AsyncClient, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    url = f"{AVATARS}/{avatar['id']}"
    cases = Cases()
    invalid: list[tuple[dict[str, Any], str]] = [
        ({"primary_color": "blue"}, "primary_color"),
        ({"primary_color": "#12345G"}, "primary_color"),
        ({"allowed_origins": ["https://example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": ["example.com"]}, "allowed_origins"),
        ({"allowed_origins": "https://example.com"}, "allowed_origins"),
        ({"avatar_image_url": "javascript:alert(1)"}, "avatar_image_url"),
        ({"language": "de"}, "language"),
        ({"max_messages_per_session": 0}, "max_messages_per_session"),
        ({"max_messages_per_session": 501}, "max_messages_per_session"),
        ({"max_message_chars": 10_001}, "max_message_chars"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"primary_color": None}, "primary_color"),
        ({"is_active": None}, "is_active"),
        ({"name": "x" * 101}, "name"),
        ({"organization_id": str(uuid.uuid4())}, "organization_id"),
    ]
    for changes, field in invalid:
        with cases.case(changes):
            assert_validation_error(
                await site_client.patch(url, json=changes, headers=team["owner"]), field
            )
            create = {"organization_id": str(team.organization_id), "name": "X", **changes}
            if "organization_id" not in changes:
                assert_validation_error(
                    await site_client.post(AVATARS, json=create, headers=team["owner"]), field
                )
    with cases.case("missing name"):
        response = await site_client.post(
            AVATARS, json={"organization_id": str(team.organization_id)}, headers=team["owner"]
        )
        assert_validation_error(response, "name")
    with cases.case("bad organization id"):
        response = await site_client.post(
            AVATARS, json={"organization_id": "nope", "name": "X"}, headers=team["owner"]
        )
        assert_validation_error(response, "organization_id")
    with cases.case("bad avatar id"):
        assert_validation_error(await site_client.get(f"{AVATARS}/nope", headers=team["owner"]))
    with cases.case("malformed json"):
        response = await site_client.patch(
            url,
            content=b"{",
            headers={**team["owner"], "Content-Type": "application/json"},
        )
        assert_error(response, 400, "BAD_REQUEST")
    with cases.case("form body"):
        response = await site_client.patch(url, data={"name": "X"}, headers=team["owner"])
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    with cases.case("english message"):
        response = await site_client.patch(
            url,
            json={"primary_color": "red"},
            headers={**team["owner"], "Accept-Language": "en"},
        )
        assert assert_validation_error(response)["message"] == (
            "primary_color is a hex color like #3B82F6."
        )
    with cases.case("json over the body cap"):
        response = await site_client.patch(
            url, json={"system_prompt": "x" * 70_000}, headers=team["owner"]
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    cases.check()
    unchanged = await site_client.get(url, headers=team["owner"])
    assert unchanged.json() == avatar


async def test_conversations_are_paged_and_kept_to_their_avatar(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    other = await create_avatar(site_client, team, name="Другой")
    opened = []
    for _ in range(3):
        response = await site_client.post(f"/api/v1/chat/{avatar['id']}/sessions?source=widget")
        opened.append(response.json()["id"])
    foreign = (await site_client.post(f"/api/v1/chat/{other['id']}/sessions")).json()["id"]
    url = f"{AVATARS}/{avatar['id']}/sessions"
    first = (await site_client.get(url, params={"limit": 2}, headers=team["admin"])).json()
    second = await site_client.get(url, params={"limit": 2, "offset": 2}, headers=team["admin"])
    ids = [item["id"] for item in first["items"] + second.json()["items"]]
    assert sorted(ids) == sorted(opened)
    assert first["total"] == 3
    assert all(item["source"] == "widget" for item in first["items"])
    assert_validation_error(await site_client.get(url, params={"limit": 0}, headers=team["owner"]))
    response = await site_client.get(f"{url}/{foreign}/messages", headers=team["owner"])
    assert_error(response, 404, "NOT_FOUND")
    empty = await site_client.get(f"{url}/{opened[0]}/messages", headers=team["owner"])
    assert empty.json() == {"session_id": opened[0], "messages": []}


async def test_an_avatar_of_an_organization_without_the_caller_is_not_found(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar_id = await make_avatar(runtime)
    response = await site_client.get(f"{AVATARS}/{avatar_id}", headers=team["owner"])
    assert_error(response, 404, "NOT_FOUND")  # another organization's
