"""Section 1 of the site API spec: `POST /api/v1/plan-requests/` (leads from the landing page)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from parmenid.core.jobs import Job
from parmenid.runtime import Runtime
from parmenid.site.leads.models import PlanRequest
from tests.site.support import (
    ISO_UTC_Z,
    LEAD_RATE_LIMIT_TEXT,
    LEADS_URL,
    MISSING_CONTACT_TEXT,
    UUID_RE,
    Cases,
    assert_error,
    assert_validation_error,
    fresh_ip,
    is_russian,
    post_lead,
)

RESPONSE_KEYS = {"id", "request_type", "status", "requested_plan", "created_at"}

# The three requests of "Примеры запросов", exactly as the spec writes them.
DEMO_EXAMPLE = {
    "request_type": "demo_request",
    "contact_email": "client@company.com",
    "contact_phone": "+7 999 123 45 67",
    "message": "Интересует интеграция в CRM",
}
CONTACT_EXAMPLE = {
    "request_type": "contact_sales",
    "contact_email": "client@company.com",
    "contact_telegram": "@username",
    "message": "Хотим обсудить корпоративное решение",
}
PRICING_EXAMPLE = {
    "request_type": "plan_upgrade",
    "requested_plan": "growth",
    "contact_email": "client@company.com",
}
PLANS = ["free", "starter", "growth", "scale", "enterprise"]
TELEGRAM_ON = {"telegram": {"bot_token": "123456:TEST-TOKEN", "admin_chat_ids": ["1001", "1002"]}}


async def stored(runtime: Runtime, lead_id: str) -> PlanRequest:
    async with runtime.db.session() as session:
        row = await session.get(PlanRequest, uuid.UUID(lead_id))
        assert row is not None, f"lead {lead_id} was answered 201 but is not stored"
        return row


async def count_leads(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PlanRequest)) or 0)


async def telegram_jobs(runtime: Runtime) -> list[Job]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(Job).where(Job.name == "notify.telegram"))
        return list(rows)


def assert_created(response: httpx.Response, request_type: str, plan: str | None) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == RESPONSE_KEYS, body
    assert UUID_RE.match(body["id"]), body
    assert body["request_type"] == request_type
    assert body["status"] == "new"
    assert body["requested_plan"] == plan
    assert ISO_UTC_Z.match(body["created_at"]), body["created_at"]
    return body


# --- the spec's examples ---------------------------------------------------------------------


async def test_demo_form_example(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    body = assert_created(await post_lead(site_client, DEMO_EXAMPLE), "demo_request", None)
    row = await stored(runtime, body["id"])
    assert row.request_type == "demo_request"
    assert row.status == "new"
    assert row.contact_email == "client@company.com"
    assert row.contact_phone == "+79991234567"
    assert row.contact_telegram is None
    assert row.message == "Интересует интеграция в CRM"
    assert row.requested_plan is None


async def test_contact_form_example(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    body = assert_created(await post_lead(site_client, CONTACT_EXAMPLE), "contact_sales", None)
    row = await stored(runtime, body["id"])
    assert row.request_type == "contact_sales"
    assert row.status == "new"
    assert row.contact_email == "client@company.com"
    assert row.contact_phone is None
    assert row.contact_telegram == "@username"
    assert row.message == "Хотим обсудить корпоративное решение"


async def test_pricing_button_example(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    body = assert_created(await post_lead(site_client, PRICING_EXAMPLE), "plan_upgrade", "growth")
    row = await stored(runtime, body["id"])
    assert row.request_type == "plan_upgrade"
    assert row.requested_plan == "growth"
    assert row.contact_email == "client@company.com"
    assert row.message is None


async def test_frontend_example_with_empty_form_fields(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The spec's `submitDemoRequest` sends `formData.get(...)`: empty inputs arrive as ""."""
    response = await post_lead(
        site_client,
        {
            "request_type": "demo_request",
            "contact_email": "client@company.com",
            "contact_phone": "",
            "message": "",
        },
    )
    body = assert_created(response, "demo_request", None)
    row = await stored(runtime, body["id"])
    assert row.contact_email == "client@company.com"
    assert row.contact_phone is None
    assert not row.message


async def test_frontend_example_with_missing_form_fields(site_client: httpx.AsyncClient) -> None:
    """`formData.get` of a field the form does not have is null, which JSON keeps as null."""
    response = await post_lead(
        site_client,
        {
            "request_type": "demo_request",
            "contact_email": "client@company.com",
            "contact_phone": None,
            "message": None,
        },
    )
    assert_created(response, "demo_request", None)


async def test_ids_are_distinct_and_each_lead_is_stored(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first = assert_created(await post_lead(site_client, DEMO_EXAMPLE), "demo_request", None)
    second = assert_created(await post_lead(site_client, DEMO_EXAMPLE), "demo_request", None)
    assert first["id"] != second["id"]
    assert await count_leads(runtime) == 2


# --- types and contacts ----------------------------------------------------------------------


@pytest.mark.parametrize("request_type", ["demo_request", "contact_sales"])
@pytest.mark.parametrize(
    "contact",
    [
        {"contact_email": "client@company.com"},
        {"contact_phone": "+7 999 123 45 67"},
        {"contact_telegram": "@username"},
    ],
    ids=["email", "phone", "telegram"],
)
async def test_any_single_contact_is_enough(
    site_client: httpx.AsyncClient, runtime: Runtime, request_type: str, contact: dict[str, str]
) -> None:
    response = await post_lead(site_client, {"request_type": request_type, **contact})
    body = assert_created(response, request_type, None)
    row = await stored(runtime, body["id"])
    assert row.request_type == request_type


async def test_plan_upgrade_with_telegram_only(site_client: httpx.AsyncClient) -> None:
    response = await post_lead(
        site_client,
        {
            "request_type": "plan_upgrade",
            "requested_plan": "scale",
            "contact_telegram": "@username",
        },
    )
    assert_created(response, "plan_upgrade", "scale")


NO_CONTACTS: list[dict[str, Any]] = [
    {},
    {"contact_email": "", "contact_phone": "", "contact_telegram": ""},
    {"contact_email": "   ", "contact_phone": " ", "contact_telegram": "\t"},
    {"contact_email": None, "contact_phone": None, "contact_telegram": None},
]


@pytest.mark.parametrize("request_type", ["demo_request", "contact_sales", "plan_upgrade"])
async def test_missing_contact_is_refused_with_the_spec_text(
    site_client: httpx.AsyncClient, runtime: Runtime, request_type: str
) -> None:
    cases = Cases()
    for contacts in NO_CONTACTS:
        with cases.case(contacts):
            body: dict[str, Any] = {"request_type": request_type, "message": "Перезвоните мне"}
            body.update(contacts)
            if request_type == "plan_upgrade":
                body["requested_plan"] = "growth"
            error = assert_validation_error(await post_lead(site_client, body))
            assert error["message"] == MISSING_CONTACT_TEXT
    cases.check()
    assert await count_leads(runtime) == 0


async def test_missing_contact_message_in_english(site_client: httpx.AsyncClient) -> None:
    response = await post_lead(
        site_client,
        {"request_type": "demo_request", "message": "Call me"},
        headers={"Accept-Language": "en"},
    )
    error = assert_validation_error(response)
    assert error["message"] != MISSING_CONTACT_TEXT
    assert not is_russian(error["message"]), error["message"]
    assert "telegram" in error["message"].lower(), error["message"]


async def test_missing_contact_message_for_a_regional_english_locale(
    site_client: httpx.AsyncClient,
) -> None:
    response = await post_lead(
        site_client,
        {"request_type": "demo_request"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    error = assert_validation_error(response)
    assert not is_russian(error["message"]), error["message"]


async def test_missing_contact_message_is_russian_for_russian_browsers(
    site_client: httpx.AsyncClient,
) -> None:
    response = await post_lead(
        site_client,
        {"request_type": "demo_request"},
        headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"},
    )
    assert assert_validation_error(response)["message"] == MISSING_CONTACT_TEXT


async def test_missing_request_type_is_refused(site_client: httpx.AsyncClient) -> None:
    response = await post_lead(site_client, {"contact_email": "client@company.com"})
    assert_validation_error(response, "request_type")


# --- requested_plan --------------------------------------------------------------------------


@pytest.mark.parametrize("plan", PLANS)
async def test_every_plan_of_the_spec_is_accepted(
    site_client: httpx.AsyncClient, runtime: Runtime, plan: str
) -> None:
    response = await post_lead(site_client, {**PRICING_EXAMPLE, "requested_plan": plan})
    body = assert_created(response, "plan_upgrade", plan)
    assert (await stored(runtime, body["id"])).requested_plan == plan


async def test_other_plans_are_refused(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    cases = Cases()
    for plan in ["premium", "pro", "GROWTH", "", "basic", "enterprise-plus", "free,growth"]:
        with cases.case(plan):
            response = await post_lead(site_client, {**PRICING_EXAMPLE, "requested_plan": plan})
            assert_validation_error(response)
    cases.check()
    assert await count_leads(runtime) == 0


@pytest.mark.parametrize("body_extra", [{}, {"requested_plan": None}], ids=["absent", "null"])
async def test_plan_upgrade_requires_requested_plan(
    site_client: httpx.AsyncClient, runtime: Runtime, body_extra: dict[str, Any]
) -> None:
    body = {"request_type": "plan_upgrade", "contact_email": "client@company.com", **body_extra}
    error = assert_validation_error(await post_lead(site_client, body))
    assert is_russian(error["message"]), error["message"]
    assert error["message"] != MISSING_CONTACT_TEXT
    assert await count_leads(runtime) == 0


async def test_plan_upgrade_without_plan_in_english(site_client: httpx.AsyncClient) -> None:
    body = {"request_type": "plan_upgrade", "contact_email": "client@company.com"}
    response = await post_lead(site_client, body, headers={"Accept-Language": "en"})
    error = assert_validation_error(response)
    assert not is_russian(error["message"]), error["message"]


@pytest.mark.parametrize("request_type", ["demo_request", "contact_sales"])
async def test_requested_plan_only_for_plan_upgrade(
    site_client: httpx.AsyncClient, runtime: Runtime, request_type: str
) -> None:
    body = {
        "request_type": request_type,
        "contact_email": "client@company.com",
        "requested_plan": "growth",
    }
    assert_validation_error(await post_lead(site_client, body))
    assert await count_leads(runtime) == 0


# --- message ---------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["a", "я"], ids=["latin", "cyrillic"])
async def test_message_of_2000_characters_is_accepted(
    site_client: httpx.AsyncClient, runtime: Runtime, char: str
) -> None:
    message = char * 2000
    response = await post_lead(site_client, {**DEMO_EXAMPLE, "message": message})
    body = assert_created(response, "demo_request", None)
    assert (await stored(runtime, body["id"])).message == message


@pytest.mark.parametrize("char", ["a", "я"], ids=["latin", "cyrillic"])
async def test_message_of_2001_characters_is_refused(
    site_client: httpx.AsyncClient, runtime: Runtime, char: str
) -> None:
    response = await post_lead(site_client, {**DEMO_EXAMPLE, "message": char * 2001})
    assert_validation_error(response, "message")
    assert await count_leads(runtime) == 0


async def test_multiline_message_is_kept(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    message = "Строка 1\nСтрока 2\n\n— «кавычки» & <теги>"
    body = assert_created(
        await post_lead(site_client, {**DEMO_EXAMPLE, "message": message}), "demo_request", None
    )
    assert (await stored(runtime, body["id"])).message == message


# --- rate limit: 5 per hour per IP -----------------------------------------------------------


async def test_sixth_lead_from_one_ip_within_an_hour_is_refused(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ip = fresh_ip()
    for _ in range(5):
        assert_created(await post_lead(site_client, DEMO_EXAMPLE, ip=ip), "demo_request", None)

    response = await post_lead(site_client, DEMO_EXAMPLE, ip=ip)
    error = assert_error(response, 429, "RATE_LIMIT")
    assert error["message"] == LEAD_RATE_LIMIT_TEXT
    retry_after = response.headers.get("retry-after")
    assert retry_after is not None, response.headers
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= 3600
    policy = response.headers.get("ratelimit-policy")
    assert policy is not None, response.headers
    assert "5" in policy, policy
    assert "3600" in policy, policy
    assert response.headers.get("ratelimit"), response.headers
    assert await count_leads(runtime) == 5

    english = await post_lead(site_client, DEMO_EXAMPLE, ip=ip, headers={"Accept-Language": "en"})
    message = assert_error(english, 429, "RATE_LIMIT")["message"]
    assert not is_russian(message), message

    other = await post_lead(site_client, DEMO_EXAMPLE, ip=fresh_ip())
    assert_created(other, "demo_request", None)
    assert await count_leads(runtime) == 6


async def test_refused_forms_do_not_use_up_the_limit(site_client: httpx.AsyncClient) -> None:
    """The limit is ">5 заявок/час" and its text says "Вы уже отправили заявку": a visitor whose
    attempts were all refused (422) has not sent a lead yet and must still be able to."""
    ip = fresh_ip()
    for _ in range(6):
        response = await post_lead(site_client, {"request_type": "demo_request"}, ip=ip)
        assert_validation_error(response)
    assert_created(await post_lead(site_client, DEMO_EXAMPLE, ip=ip), "demo_request", None)


async def test_limit_counts_all_types_together(site_client: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for body in (DEMO_EXAMPLE, CONTACT_EXAMPLE, PRICING_EXAMPLE, DEMO_EXAMPLE, CONTACT_EXAMPLE):
        response = await post_lead(site_client, body, ip=ip)
        assert response.status_code == 201, response.text
    assert_error(await post_lead(site_client, PRICING_EXAMPLE, ip=ip), 429, "RATE_LIMIT")


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": {"trusted_proxies": []}}])
async def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(
    site_client: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        response = await post_lead(site_client, DEMO_EXAMPLE, ip=fresh_ip())
        assert response.status_code == 201, response.text
    assert_error(await post_lead(site_client, DEMO_EXAMPLE, ip=fresh_ip()), 429, "RATE_LIMIT")


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": {"enabled": False}}])
async def test_limit_can_be_switched_off(site_client: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for _ in range(7):
        response = await post_lead(site_client, DEMO_EXAMPLE, ip=ip)
        assert response.status_code == 201, response.text


# --- Telegram alerts (the outbox rows) -------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [TELEGRAM_ON])
async def test_new_lead_queues_one_telegram_alert_per_admin_chat(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = assert_created(await post_lead(site_client, CONTACT_EXAMPLE), "contact_sales", None)
    await stored(runtime, body["id"])
    jobs = await telegram_jobs(runtime)
    assert sorted(str(job.payload["chat_id"]) for job in jobs) == ["1001", "1002"]
    for job in jobs:
        assert job.status == "queued"
        text = job.payload["text"]
        assert isinstance(text, str)
        assert "client@company.com" in text
        assert "@username" in text


@pytest.mark.parametrize("settings_overrides", [TELEGRAM_ON])
async def test_refused_lead_queues_no_alert(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert_validation_error(await post_lead(site_client, {"request_type": "demo_request"}))
    assert await telegram_jobs(runtime) == []


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {},
        {"telegram": {"bot_token": "123456:TEST-TOKEN"}},
        {"telegram": {"admin_chat_ids": ["1001"]}},
    ],
    ids=["nothing", "token-only", "chats-only"],
)
async def test_no_alert_when_telegram_is_not_configured(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = assert_created(await post_lead(site_client, DEMO_EXAMPLE), "demo_request", None)
    await stored(runtime, body["id"])
    assert await telegram_jobs(runtime) == []


async def test_trailing_slash_is_the_documented_path(site_client: httpx.AsyncClient) -> None:
    assert LEADS_URL.endswith("/")
    response = await site_client.post(LEADS_URL, json=DEMO_EXAMPLE)
    assert response.status_code == 201, response.text
