"""Bad input of every kind gets the site error envelope, never a 500 and never a bare page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from parmenid.runtime import Runtime
from parmenid.site.leads.models import PlanRequest
from tests.site.support import (
    HEALTH_URL,
    LEADS_URL,
    LOGIN_URL,
    REGISTER_URL,
    Cases,
    assert_error,
    assert_validation_error,
    from_ip,
    post_lead,
)

VALID = {"request_type": "demo_request", "contact_email": "client@company.com"}
JSON = {"Content-Type": "application/json"}


async def count_leads(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PlanRequest)) or 0)


async def stored_lead(runtime: Runtime, lead_id: str) -> PlanRequest:
    import uuid

    async with runtime.db.session() as session:
        row = await session.get(PlanRequest, uuid.UUID(lead_id))
        assert row is not None
        return row


async def post_raw(
    client: httpx.AsyncClient, url: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(url, content=content, headers=from_ip(**(headers or {})))


# --- not JSON at all -------------------------------------------------------------------------


MALFORMED = [
    b'{"request_type": "demo_request",',
    b"{'request_type': 'demo_request'}",
    b"not json",
    b'{"request_type": "demo_request" "contact_email": "a@b.co"}',
    b'{"request_type": "demo_request",}',
    b"\xff\xfe\x00{",
    b"{\x00}",
    b'{"request_type": "demo_request", "contact_email": "client@company.com"} trailing',
]


@pytest.mark.parametrize("url", [LEADS_URL, REGISTER_URL, LOGIN_URL])
async def test_malformed_json_is_a_bad_request(site_client: httpx.AsyncClient, url: str) -> None:
    cases = Cases()
    for content in MALFORMED:
        with cases.case(content):
            response = await post_raw(site_client, url, content, JSON)
            assert_error(response, 400, "BAD_REQUEST")
    cases.check()


async def test_malformed_json_message_follows_the_language(site_client: httpx.AsyncClient) -> None:
    ru = assert_error(await post_raw(site_client, LEADS_URL, b"{", JSON), 400, "BAD_REQUEST")
    en = assert_error(
        await post_raw(site_client, LEADS_URL, b"{", {**JSON, "Accept-Language": "en"}),
        400,
        "BAD_REQUEST",
    )
    assert ru["message"] != en["message"]


async def test_empty_body_with_json_type(site_client: httpx.AsyncClient) -> None:
    cases = Cases()
    for url in (LEADS_URL, REGISTER_URL, LOGIN_URL):
        with cases.case(url):
            response = await post_raw(site_client, url, b"", JSON)
            expected = {400: "BAD_REQUEST", 422: "VALIDATION_ERROR"}
            assert response.status_code in expected, response.text
            assert_error(response, response.status_code, expected[response.status_code])
    cases.check()


# --- JSON, but not an object -----------------------------------------------------------------


NOT_OBJECTS = [
    [VALID],
    [],
    "demo_request",
    42,
    3.5,
    True,
    None,
]


@pytest.mark.parametrize("url", [LEADS_URL, REGISTER_URL, LOGIN_URL])
async def test_json_that_is_not_an_object(
    site_client: httpx.AsyncClient, runtime: Runtime, url: str
) -> None:
    cases = Cases()
    for payload in NOT_OBJECTS:
        with cases.case(payload):
            response = await post_raw(site_client, url, json.dumps(payload).encode(), JSON)
            assert_validation_error(response)
    cases.check()
    assert await count_leads(runtime) == 0


async def test_deeply_nested_json_is_refused_cleanly(site_client: httpx.AsyncClient) -> None:
    depth = 20_000
    content = b"[" * depth + b"]" * depth
    response = await post_raw(site_client, LEADS_URL, content, JSON)
    expected = {400: "BAD_REQUEST", 422: "VALIDATION_ERROR"}
    assert response.status_code in expected, response.text
    assert_error(response, response.status_code, expected[response.status_code])


async def test_deeply_nested_object_field_is_refused_cleanly(
    site_client: httpx.AsyncClient,
) -> None:
    depth = 20_000
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    content = b'{"request_type":"demo_request","contact_email":"client@company.com","x":' + nested
    content += b"}"
    response = await post_raw(site_client, LEADS_URL, content, JSON)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error(response, response.status_code)


# --- wrong types -----------------------------------------------------------------------------


WRONG_TYPES = [
    ("contact_email", 123),
    ("contact_email", True),
    ("contact_email", ["client@company.com"]),
    ("contact_phone", 79991234567),
    ("contact_phone", {"number": "+79991234567"}),
    ("contact_telegram", ["@username"]),
    ("contact_telegram", 1.5),
    ("message", {"text": "hi"}),
    ("message", 42),
    ("message", ["hi"]),
    ("request_type", 1),
    ("request_type", None),
    ("request_type", ["demo_request"]),
    ("request_type", {"type": "demo_request"}),
    ("requested_plan", 5),
]


async def test_wrong_type_is_a_validation_error(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    cases = Cases()
    for field, value in WRONG_TYPES:
        with cases.case((field, value)):
            body: dict[str, Any] = {**VALID, "contact_phone": "+7 999 123 45 67", field: value}
            if field == "requested_plan":
                body["request_type"] = "plan_upgrade"
            response = await post_lead(site_client, body)
            assert_validation_error(response, field)
    cases.check()
    assert await count_leads(runtime) == 0


async def test_validation_details_in_english(site_client: httpx.AsyncClient) -> None:
    response = await post_lead(
        site_client, {**VALID, "message": 42}, headers={"Accept-Language": "en"}
    )
    error = assert_validation_error(response, "message")
    assert error["message"].isascii(), error["message"]


async def test_unknown_request_type(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    cases = Cases()
    for request_type in ["demo", "DEMO_REQUEST", "", " demo_request", "support", "plan-upgrade"]:
        with cases.case(request_type):
            response = await post_lead(site_client, {**VALID, "request_type": request_type})
            assert_validation_error(response, "request_type")
    cases.check()
    assert await count_leads(runtime) == 0


async def test_unknown_extra_fields_are_ignored(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = {**VALID, "utm_source": "google", "status": "completed", "id": "x", "is_spam": True}
    response = await post_lead(site_client, body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "new"
    assert (await stored_lead(runtime, response.json()["id"])).status == "new"


# --- contact formats -------------------------------------------------------------------------

INVALID_EMAILS = [
    "not-an-email",
    "client@",
    "@company.com",
    "client company@company.com",
    "client@company",
    "client@@company.com",
    "client@company..com",
    "client@" + "a" * 250 + ".com",
    "<script>@company.com",
]


async def test_invalid_email(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    cases = Cases()
    for email in INVALID_EMAILS:
        with cases.case(email):
            body = {"request_type": "demo_request", "contact_email": email}
            assert_validation_error(await post_lead(site_client, body), "contact_email")
    cases.check()
    assert await count_leads(runtime) == 0


INVALID_PHONES = [
    "abc",
    "12",
    "+7 999",
    "+7 999 123 45 67 89 01 23",
    "+0 123 456 7890",
    "phone: none",
    "++7",
]


async def test_invalid_phone(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    cases = Cases()
    for phone in INVALID_PHONES:
        with cases.case(phone):
            body = {"request_type": "demo_request", "contact_phone": phone}
            assert_validation_error(await post_lead(site_client, body), "contact_phone")
    cases.check()
    assert await count_leads(runtime) == 0


VALID_PHONES = [
    ("8 (999) 123-45-67", "+79991234567"),
    ("+7 999 123 45 67", "+79991234567"),
    ("+7-999-123-45-67", "+79991234567"),
    ("89991234567", "+79991234567"),
    ("+79991234567", "+79991234567"),
    ("+1 650 253 0000", "+16502530000"),
]


async def test_valid_phone_variants_are_normalized(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    cases = Cases()
    for phone, e164 in VALID_PHONES:
        with cases.case(phone):
            body = {"request_type": "demo_request", "contact_phone": phone}
            response = await post_lead(site_client, body)
            assert response.status_code == 201, response.text
            stored = await stored_lead(runtime, response.json()["id"])
            assert stored.contact_phone == e164
    cases.check()


INVALID_HANDLES = [
    "@",
    "abc",
    "@abc",
    "user name",
    "user-name",
    "1username",
    "a" * 40,
    "https://evil.example/user_name",
    "<script>alert(1)</script>",
]


async def test_invalid_telegram_handle(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    cases = Cases()
    for handle in INVALID_HANDLES:
        with cases.case(handle):
            body = {"request_type": "demo_request", "contact_telegram": handle}
            assert_validation_error(await post_lead(site_client, body), "contact_telegram")
    cases.check()
    assert await count_leads(runtime) == 0


async def test_valid_telegram_variants_are_normalized(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    cases = Cases()
    for handle in ["@user_name", "user_name", "https://t.me/user_name", " @user_name "]:
        with cases.case(handle):
            body = {"request_type": "demo_request", "contact_telegram": handle}
            response = await post_lead(site_client, body)
            assert response.status_code == 201, response.text
            stored = await stored_lead(runtime, response.json()["id"])
            assert stored.contact_telegram == "@user_name"
    cases.check()


# --- text that databases dislike -------------------------------------------------------------


@pytest.mark.parametrize(
    "field_value",
    [
        ("message", "hello\u0000world"),
        ("message", "half a pair: \ud800"),
        ("contact_email", "client\u0000@company.com"),
        ("contact_telegram", "@user\u0000name"),
    ],
    ids=["nul-message", "surrogate-message", "nul-email", "nul-telegram"],
)
async def test_awkward_characters_never_break_the_server(
    site_client: httpx.AsyncClient, field_value: tuple[str, str]
) -> None:
    field, value = field_value
    body = {**VALID, field: value}
    content = json.dumps(body).encode()  # ensure_ascii keeps the lone surrogate as \\ud800
    response = await post_raw(site_client, LEADS_URL, content, JSON)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert_validation_error(response)


# --- body size -------------------------------------------------------------------------------


def big_body(size: int) -> bytes:
    head = b'{"request_type":"demo_request","contact_email":"client@company.com","message":"'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_body_over_64_kib_is_too_large(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await post_raw(site_client, LEADS_URL, big_body(64 * 1024 + 1), JSON)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await count_leads(runtime) == 0


async def test_large_body_english_message(site_client: httpx.AsyncClient) -> None:
    response = await post_raw(
        site_client, LEADS_URL, big_body(100 * 1024), {**JSON, "Accept-Language": "en"}
    )
    assert assert_error(response, 413, "PAYLOAD_TOO_LARGE")["message"].isascii()


async def test_body_just_under_the_cap_is_read_and_validated(
    site_client: httpx.AsyncClient,
) -> None:
    response = await post_raw(site_client, LEADS_URL, big_body(64 * 1024 - 16), JSON)
    assert_validation_error(response, "message")


@pytest.mark.parametrize("url", [LEADS_URL, REGISTER_URL, LOGIN_URL])
async def test_chunked_body_over_64_kib_is_too_large(
    site_client: httpx.AsyncClient, runtime: Runtime, url: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"request_type":"demo_request","contact_email":"client@company.com","message":"'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = await site_client.post(url, content=chunks(), headers=from_ip(**JSON))
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await count_leads(runtime) == 0


async def test_lying_content_length_does_not_let_a_big_body_through(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield big_body(200 * 1024)

    headers = from_ip(**JSON, **{"Content-Length": "100"})
    response = await site_client.post(LEADS_URL, content=chunks(), headers=headers)
    assert response.status_code in (400, 413), response.text
    assert_error(response, response.status_code)
    assert await count_leads(runtime) == 0


# --- content type ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LEADS_URL, REGISTER_URL, LOGIN_URL])
async def test_body_that_is_not_json_is_unsupported(
    site_client: httpx.AsyncClient, runtime: Runtime, url: str
) -> None:
    cases = Cases()
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "text/json",
        None,
    ]:
        with cases.case(content_type):
            headers = {} if content_type is None else {"Content-Type": content_type}
            response = await post_raw(site_client, url, json.dumps(VALID).encode(), headers)
            assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    cases.check()
    assert await count_leads(runtime) == 0


async def test_not_json_message_follows_the_language(site_client: httpx.AsyncClient) -> None:
    content = json.dumps(VALID).encode()
    plain = {"Content-Type": "text/plain"}
    ru = assert_error(await post_raw(site_client, LEADS_URL, content, plain), 415)
    en = assert_error(
        await post_raw(site_client, LEADS_URL, content, {**plain, "Accept-Language": "en"}), 415
    )
    assert ru["message"] != en["message"]
    assert en["message"].isascii()


async def test_real_form_and_multipart_posts_are_unsupported(
    site_client: httpx.AsyncClient,
) -> None:
    response = await site_client.post(LEADS_URL, data=VALID, headers=from_ip())
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    response = await site_client.post(
        LEADS_URL, data=VALID, files={"file": ("a.txt", b"hello")}, headers=from_ip()
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_json_content_type_variants_are_accepted(site_client: httpx.AsyncClient) -> None:
    cases = Cases()
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;",
    ]:
        with cases.case(content_type):
            response = await post_raw(
                site_client, LEADS_URL, json.dumps(VALID).encode(), {"Content-Type": content_type}
            )
            assert response.status_code == 201, response.text
    cases.check()


# --- routes and methods ----------------------------------------------------------------------


async def test_unknown_route_is_a_not_found_envelope(site_client: httpx.AsyncClient) -> None:
    cases = Cases()
    for method, path in [
        ("GET", "/api/v1/does-not-exist"),
        ("POST", "/api/v1/does-not-exist"),
        ("GET", "/nope"),
        ("GET", "/api/v2/health"),
        ("GET", "/api/v1/plan-requests/00000000-0000-0000-0000-000000000000/secret"),
    ]:
        with cases.case((method, path)):
            response = await site_client.request(method, path, headers=from_ip())
            assert_error(response, 404, "NOT_FOUND")
    cases.check()


async def test_not_found_in_english(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get("/api/v1/nope", headers={"Accept-Language": "en"})
    assert assert_error(response, 404, "NOT_FOUND")["message"].isascii()


async def test_wrong_method_is_a_method_not_allowed_envelope(
    site_client: httpx.AsyncClient,
) -> None:
    cases = Cases()
    for method, path in [
        ("DELETE", LEADS_URL),
        ("PUT", LEADS_URL),
        ("GET", REGISTER_URL),
        ("GET", LOGIN_URL),
        ("POST", HEALTH_URL),
        ("DELETE", HEALTH_URL),
    ]:
        with cases.case((method, path)):
            response = await site_client.request(method, path, headers=from_ip())
            assert_error(response, 405)
            assert response.headers.get("allow"), response.headers
    cases.check()


# --- register and login with bad input -------------------------------------------------------


AUTH_BAD_BODIES: list[dict[str, Any]] = [
    {},
    {"email": "user@example.com"},
    {"password": "SecurePass123!"},
    {"email": 123, "password": "SecurePass123!"},
    {"email": "user@example.com", "password": 12345678},
    {"email": "user@example.com", "password": None},
    {"email": ["user@example.com"], "password": "SecurePass123!"},
    {"email": "user@example.com", "password": {"x": 1}},
    {"email": "not-an-email", "password": "SecurePass123!"},
]


@pytest.mark.parametrize("url", [REGISTER_URL, LOGIN_URL])
async def test_auth_bad_bodies_are_validation_errors(
    site_client: httpx.AsyncClient, url: str
) -> None:
    cases = Cases()
    for body in AUTH_BAD_BODIES:
        with cases.case(body):
            response = await site_client.post(url, json=body, headers=from_ip())
            if url == LOGIN_URL and body.get("email") == "not-an-email":
                # A login with an address that cannot exist may equally be "invalid credentials".
                assert response.status_code in (401, 422), response.text
                assert_error(response, response.status_code)
            else:
                assert_validation_error(response)
    cases.check()


async def test_register_with_absurdly_long_password(site_client: httpx.AsyncClient) -> None:
    body = {"email": "long@example.com", "password": "Aa1" + "x" * 50_000}
    response = await site_client.post(REGISTER_URL, json=body, headers=from_ip())
    assert response.status_code < 500, response.text
    if response.status_code != 201:
        assert_error(response, response.status_code)
