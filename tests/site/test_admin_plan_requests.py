"""The admin panel's leads API ("Админ видит заявку в панели /admin/plan-requests", then moves it
`new` → `in_progress` → `completed`). Platform admins only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from parmenid.runtime import Runtime
from parmenid.site.leads.models import PlanRequest
from tests.helpers import admin_headers, login, register
from tests.site.support import (
    ADMIN_LEADS_URL,
    ISO_UTC_Z,
    Cases,
    assert_error,
    assert_validation_error,
    fresh_ip,
    post_lead,
)

ITEM_KEYS = {
    "id",
    "request_type",
    "status",
    "requested_plan",
    "contact_email",
    "contact_phone",
    "contact_telegram",
    "message",
    "created_at",
}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


async def create_lead(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"request_type": "demo_request", "contact_email": "client@company.com", **fields}
    response = await post_lead(client, body, ip=fresh_ip())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def user_headers(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    await register(client, email)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def patch_status(
    client: httpx.AsyncClient, headers: dict[str, str], lead_id: str, status: str
) -> httpx.Response:
    return await client.patch(
        f"{ADMIN_LEADS_URL}/{lead_id}", json={"status": status}, headers=headers
    )


async def get_list(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(ADMIN_LEADS_URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert {"items", "total", "limit", "offset"} <= set(body), body
    return body


# --- listing ---------------------------------------------------------------------------------


async def test_list_shows_leads_newest_first_with_contacts(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await admin_headers(site_client, runtime)
    first = await create_lead(
        site_client,
        contact_phone="8 (999) 123-45-67",
        contact_telegram="https://t.me/user_name",
        message="Интересует интеграция в CRM",
    )
    second = await create_lead(
        site_client, request_type="plan_upgrade", requested_plan="growth", message=None
    )
    third = await create_lead(site_client, request_type="contact_sales")

    body = await get_list(site_client, headers)
    assert body["total"] == 3
    assert [item["id"] for item in body["items"]] == [third["id"], second["id"], first["id"]]
    for item in body["items"]:
        assert set(item) >= ITEM_KEYS, item
        assert ISO_UTC_Z.match(item["created_at"]), item
        assert item["status"] == "new"

    oldest = body["items"][2]
    assert oldest["request_type"] == "demo_request"
    assert oldest["contact_email"] == "client@company.com"
    assert oldest["contact_phone"] == "+79991234567"
    assert oldest["contact_telegram"] == "@user_name"
    assert oldest["message"] == "Интересует интеграция в CRM"
    assert oldest["requested_plan"] is None
    assert oldest["created_at"] == first["created_at"]
    assert body["items"][1]["requested_plan"] == "growth"


async def test_list_is_empty_without_leads(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = await get_list(site_client, await admin_headers(site_client, runtime))
    assert body["items"] == []
    assert body["total"] == 0


async def test_list_filters_by_status_and_type(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await admin_headers(site_client, runtime)
    demo = await create_lead(site_client)
    sales = await create_lead(site_client, request_type="contact_sales")
    upgrade = await create_lead(site_client, request_type="plan_upgrade", requested_plan="scale")
    demo_2 = await create_lead(site_client)
    assert (await patch_status(site_client, headers, demo["id"], "in_progress")).status_code == 200
    assert (await patch_status(site_client, headers, sales["id"], "in_progress")).status_code == 200
    assert (await patch_status(site_client, headers, sales["id"], "completed")).status_code == 200

    def ids(body: dict[str, Any]) -> list[str]:
        return [item["id"] for item in body["items"]]

    new = await get_list(site_client, headers, status="new")
    assert ids(new) == [demo_2["id"], upgrade["id"]]
    assert new["total"] == 2

    in_progress = await get_list(site_client, headers, status="in_progress")
    assert ids(in_progress) == [demo["id"]]
    assert in_progress["total"] == 1

    completed = await get_list(site_client, headers, status="completed")
    assert ids(completed) == [sales["id"]]

    demos = await get_list(site_client, headers, request_type="demo_request")
    assert ids(demos) == [demo_2["id"], demo["id"]]
    assert demos["total"] == 2

    upgrades = await get_list(site_client, headers, request_type="plan_upgrade")
    assert ids(upgrades) == [upgrade["id"]]

    both = await get_list(site_client, headers, status="new", request_type="demo_request")
    assert ids(both) == [demo_2["id"]]
    assert both["total"] == 1

    none = await get_list(site_client, headers, status="completed", request_type="plan_upgrade")
    assert none["items"] == []
    assert none["total"] == 0


async def test_list_paginates(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    created = [await create_lead(site_client, message=f"lead {i}") for i in range(5)]
    newest_first = [lead["id"] for lead in reversed(created)]

    pages: list[str] = []
    for offset in (0, 2, 4):
        page = await get_list(site_client, headers, limit=2, offset=offset)
        assert page["total"] == 5
        assert page["limit"] == 2
        assert page["offset"] == offset
        assert len(page["items"]) == (2 if offset < 4 else 1)
        pages.extend(item["id"] for item in page["items"])
    assert pages == newest_first

    beyond = await get_list(site_client, headers, limit=2, offset=10)
    assert beyond["items"] == []
    assert beyond["total"] == 5


async def test_list_refuses_bad_parameters(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await admin_headers(site_client, runtime)
    cases = Cases()
    bad: list[dict[str, str | int]] = [
        {"status": "bogus"},
        {"request_type": "support"},
        {"limit": -1},
        {"limit": "many"},
        {"offset": -5},
    ]
    for params in bad:
        with cases.case(params):
            response = await site_client.get(ADMIN_LEADS_URL, params=params, headers=headers)
            assert_validation_error(response)
    cases.check()


# --- one lead --------------------------------------------------------------------------------


async def test_get_one_lead(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client, contact_telegram="@username", message="Позвоните")
    response = await site_client.get(f"{ADMIN_LEADS_URL}/{lead['id']}", headers=headers)
    assert response.status_code == 200, response.text
    item = response.json()
    assert set(item) >= ITEM_KEYS, item
    assert item["id"] == lead["id"]
    assert item["status"] == "new"
    assert item["contact_email"] == "client@company.com"
    assert item["contact_telegram"] == "@username"
    assert item["message"] == "Позвоните"
    listed = (await get_list(site_client, headers))["items"][0]
    assert {key: listed[key] for key in ITEM_KEYS} == {key: item[key] for key in ITEM_KEYS}


async def test_unknown_lead_is_not_found(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    await create_lead(site_client)
    response = await site_client.get(f"{ADMIN_LEADS_URL}/{UNKNOWN_ID}", headers=headers)
    assert_error(response, 404, "NOT_FOUND")
    response = await patch_status(site_client, headers, UNKNOWN_ID, "in_progress")
    assert_error(response, 404, "NOT_FOUND")


async def test_malformed_lead_id(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    cases = Cases()
    for bad_id in ["not-a-uuid", "123", "00000000-0000-0000-0000"]:
        for response in (
            await site_client.get(f"{ADMIN_LEADS_URL}/{bad_id}", headers=headers),
            await patch_status(site_client, headers, bad_id, "in_progress"),
        ):
            with cases.case((response.request.method, bad_id)):
                expected = {404: "NOT_FOUND", 422: "VALIDATION_ERROR"}
                assert response.status_code in expected, response.text
                assert_error(response, response.status_code, expected[response.status_code])
    cases.check()


# --- status workflow -------------------------------------------------------------------------


async def stored_status(runtime: Runtime, lead_id: str) -> str:
    async with runtime.db.session() as session:
        row = await session.get(PlanRequest, uuid.UUID(lead_id))
        assert row is not None
        return row.status


async def test_workflow_new_in_progress_completed(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client)

    for status in ("in_progress", "in_progress", "completed", "completed"):
        response = await patch_status(site_client, headers, lead["id"], status)
        assert response.status_code == 200, response.text
        item = response.json()
        assert item["id"] == lead["id"]
        assert item["status"] == status
        assert await stored_status(runtime, lead["id"]) == status
        fetched = await site_client.get(f"{ADMIN_LEADS_URL}/{lead['id']}", headers=headers)
        assert fetched.json()["status"] == status


async def test_new_again_is_a_no_op(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client)
    response = await patch_status(site_client, headers, lead["id"], "new")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "new"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "completed"),
        (["in_progress"], "new"),
        (["in_progress", "completed"], "new"),
        (["in_progress", "completed"], "in_progress"),
    ],
    ids=["new-to-completed", "in_progress-to-new", "completed-to-new", "completed-back"],
)
async def test_refused_transitions(
    site_client: httpx.AsyncClient, runtime: Runtime, path: list[str], refused: str
) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client)
    for status in path:
        assert (await patch_status(site_client, headers, lead["id"], status)).status_code == 200
    before = await stored_status(runtime, lead["id"])

    response = await patch_status(site_client, headers, lead["id"], refused)
    error = assert_error(response, 409, "INVALID_STATUS_TRANSITION")
    assert error["message"]
    assert await stored_status(runtime, lead["id"]) == before


async def test_patch_with_a_bad_status(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client)
    url = f"{ADMIN_LEADS_URL}/{lead['id']}"
    cases = Cases()
    for body in [{"status": "bogus"}, {"status": None}, {"status": 1}, {}, {"status": "NEW"}]:
        with cases.case(body):
            assert_validation_error(await site_client.patch(url, json=body, headers=headers))
    cases.check()
    assert await stored_status(runtime, lead["id"]) == "new"


# --- who may use it --------------------------------------------------------------------------


def admin_calls(lead_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", ADMIN_LEADS_URL, None),
        ("GET", f"{ADMIN_LEADS_URL}/{lead_id}", None),
        ("PATCH", f"{ADMIN_LEADS_URL}/{lead_id}", {"status": "in_progress"}),
    ]


@pytest.mark.parametrize(
    "authorizations",
    [
        [None, "Bearer ", "Basic dXNlcjpwYXNz", "garbage"],
        ["Bearer garbage", "Bearer a.b.c"],
    ],
    ids=["missing", "bad-bearer"],
)
async def test_without_a_valid_token_is_unauthorized(
    site_client: httpx.AsyncClient, runtime: Runtime, authorizations: list[str | None]
) -> None:
    lead = await create_lead(site_client)
    cases = Cases()
    for authorization in authorizations:
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, url, body in admin_calls(lead["id"]):
            with cases.case((authorization, method, url)):
                response = await site_client.request(method, url, json=body, headers=headers)
                assert_error(response, 401, "UNAUTHORIZED")
    cases.check()
    assert await stored_status(runtime, lead["id"]) == "new"


async def test_refresh_token_is_not_an_access_token(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await admin_headers(site_client, runtime)
    tokens = await login(site_client, "admin@example.com")
    headers = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    response = await site_client.get(ADMIN_LEADS_URL, headers=headers)
    assert_error(response, 401, "UNAUTHORIZED")


async def test_signed_in_non_admin_is_forbidden(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    lead = await create_lead(site_client)
    headers = await user_headers(site_client, "visitor@example.com")
    for method, url, body in admin_calls(lead["id"]):
        response = await site_client.request(method, url, json=body, headers=headers)
        assert_error(response, 403, "FORBIDDEN")
    assert await stored_status(runtime, lead["id"]) == "new"


async def test_forbidden_even_for_unknown_ids(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A non-admin learns nothing about which ids exist."""
    headers = await user_headers(site_client, "visitor@example.com")
    response = await site_client.get(f"{ADMIN_LEADS_URL}/{UNKNOWN_ID}", headers=headers)
    assert_error(response, 403, "FORBIDDEN")


async def test_admin_error_messages_in_english(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await admin_headers(site_client, runtime)
    lead = await create_lead(site_client)
    response = await site_client.patch(
        f"{ADMIN_LEADS_URL}/{lead['id']}",
        json={"status": "completed"},
        headers={**headers, "Accept-Language": "en"},
    )
    assert assert_error(response, 409, "INVALID_STATUS_TRANSITION")["message"].isascii()
