"""PresentAI's auth endpoints against presentai-interfaces.md (Auth rows, error table, format).

Error format: `{"error": "<code>", "message": ..., "request_id": ..., ...extra}` with the
lower-case codes of the spec's table. Rate limits stay on here (10 auth requests a minute per
IP), so each test makes fewer than ten auth calls to PresentAI unless it means to hit the limit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, text

from parmenid.core.jobs import Job
from parmenid.identity.models import User
from parmenid.runtime import Runtime
from tests.conftest import JWT_SECRET
from tests.helpers import PASSWORD, login, register

API = "/api/v1"
REGISTER = f"{API}/auth/register"
LOGIN = f"{API}/auth/login"
REFRESH = f"{API}/auth/refresh"
LOGOUT = f"{API}/auth/logout"
LOGOUT_ALL = f"{API}/auth/logout-all"
VERIFY = f"{API}/auth/verify-email"
JSON_ENDPOINTS = [REGISTER, LOGIN, REFRESH, VERIFY]

USER_KEYS = {
    "id",
    "email",
    "full_name",
    "status",
    "is_email_verified",
    "created_at",
    "organization",
}
ORGANIZATION_KEYS = {"id", "name", "slug", "role"}
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
SPEC_CODES = {
    400: {"bad_request"},
    401: {"unauthorized"},
    403: {"insufficient_role", "insufficient_scope"},
    404: {"not_found"},
    409: {"conflict"},
    410: {"gone"},
    413: {"file_too_large"},
    415: {"unsupported_file_type"},
    422: {"validation_error"},
    429: {"rate_limit_exceeded", "token_limit_exceeded"},
    503: {"llm_unavailable"},
}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The spec's error format, with `code` from its table."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body, dict), body
    assert body.get("error") == code, body
    assert code in SPEC_CODES[status]
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("request_id"), str) and body["request_id"], body
    assert body["request_id"] == response.headers["x-request-id"], (body, response.headers)
    return body


def assert_spec_error(response: httpx.Response) -> dict[str, Any]:
    """Some error of the spec's table (status and code agree), never a 5xx."""
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code in SPEC_CODES, response.text
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    return assert_error(response, response.status_code, body["error"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def verification_token(runtime: Runtime, email: str) -> str:
    """The token from the verification link in the e-mail waiting in the outbox."""
    async with runtime.db.session() as session:
        jobs = (await session.scalars(select(Job).where(Job.name == "notify.email"))).all()
    texts = [job.payload["text"] for job in jobs if job.payload.get("to") == email]
    assert texts, f"no verification e-mail for {email}"
    match = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", texts[-1])
    assert match is not None, texts[-1]
    return match.group(1)


async def user_row(runtime: Runtime, email: str) -> User:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


# --- register ----------------------------------------------------------------------------------


async def test_register_answers_201_with_the_user_and_its_organization(
    presentai_client: httpx.AsyncClient,
) -> None:
    response = await presentai_client.post(
        REGISTER,
        json={"email": "Ivan@Example.com", "password": PASSWORD, "full_name": "Иван Петров"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == USER_KEYS
    uuid.UUID(body["id"])
    assert body["email"] == "ivan@example.com"
    assert body["full_name"] == "Иван Петров"
    assert body["status"] == "pending"
    assert body["is_email_verified"] is False
    datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    organization = body["organization"]
    assert set(organization) == ORGANIZATION_KEYS
    uuid.UUID(organization["id"])
    assert organization["role"] == "owner"
    assert organization["name"]
    assert re.fullmatch(r"[a-z0-9-]+", organization["slug"]), organization
    assert "password" not in response.text and PASSWORD not in response.text


async def test_register_without_a_name(presentai_client: httpx.AsyncClient) -> None:
    body = await register(presentai_client, "noname@example.com")
    assert set(body) == USER_KEYS
    assert body["full_name"] is None
    assert body["organization"]["name"]


async def test_register_twice_is_a_conflict(presentai_client: httpx.AsyncClient) -> None:
    await register(presentai_client, "twice@example.com")
    for email in ("twice@example.com", " TWICE@example.com "):
        response = await presentai_client.post(
            REGISTER, json={"email": email, "password": PASSWORD}
        )
        assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "weak@example.com", "password": "short1A"},
        {"email": "weak@example.com", "password": "nocapitals123"},
        {"email": "weak@example.com", "password": "NoDigitsHere"},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "", "password": PASSWORD},
        {"password": PASSWORD},
        {"email": "weak@example.com"},
        {"email": 12345, "password": PASSWORD},
        {"email": "weak@example.com", "password": ["SecurePass123!"]},
        {"email": "weak@example.com", "password": "A1" + "a" * 300},
        {"email": "weak@example.com", "password": PASSWORD, "full_name": "x" * 500},
    ],
    ids=[
        "too_short",
        "no_capital",
        "no_digit",
        "bad_email",
        "empty_email",
        "no_email",
        "no_password",
        "email_not_a_string",
        "password_not_a_string",
        "password_too_long",
        "name_too_long",
    ],
)
async def test_register_with_invalid_input_is_a_validation_error(
    presentai_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await presentai_client.post(REGISTER, json=body)
    assert_error(response, 422, "validation_error")


# --- login -------------------------------------------------------------------------------------


async def test_login_answers_a_bearer_pair_with_a_15_minute_access_token(
    presentai_client: httpx.AsyncClient,
) -> None:
    await register(presentai_client, "login@example.com")
    response = await presentai_client.post(
        LOGIN, json={"email": "login@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    claims = jwt.decode(
        body["access_token"],
        JWT_SECRET,
        algorithms=["HS256"],
        audience="parmenid-presentai",
        issuer="parmenid",
    )
    assert claims["exp"] - claims["iat"] == 900


async def test_login_is_case_insensitive_in_the_email(presentai_client: httpx.AsyncClient) -> None:
    await register(presentai_client, "case@example.com")
    tokens = await login(presentai_client, "  CASE@Example.COM ")
    assert set(tokens) == TOKEN_KEYS


async def test_login_failures_are_unauthorized_and_indistinguishable(
    presentai_client: httpx.AsyncClient,
) -> None:
    await register(presentai_client, "known@example.com")
    wrong_password = await presentai_client.post(
        LOGIN, json={"email": "known@example.com", "password": "WrongPass123!"}
    )
    unknown_user = await presentai_client.post(
        LOGIN, json={"email": "nobody@example.com", "password": PASSWORD}
    )
    first = assert_error(wrong_password, 401, "unauthorized")
    second = assert_error(unknown_user, 401, "unauthorized")
    assert first["message"] == second["message"]
    assert set(first) == set(second)


async def test_login_with_a_missing_field_is_a_validation_error(
    presentai_client: httpx.AsyncClient,
) -> None:
    response = await presentai_client.post(LOGIN, json={"email": "x@example.com"})
    assert_error(response, 422, "validation_error")


# --- refresh -----------------------------------------------------------------------------------


async def test_refresh_answers_a_new_pair(presentai_client: httpx.AsyncClient) -> None:
    await register(presentai_client, "refresh@example.com")
    tokens = await login(presentai_client, "refresh@example.com")
    response = await presentai_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"] != tokens["refresh_token"]
    claims = jwt.decode(
        body["access_token"], JWT_SECRET, algorithms=["HS256"], audience="parmenid-presentai"
    )
    assert claims["exp"] - claims["iat"] == 900
    # The old one is spent.
    again = await presentai_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert_error(again, 401, "unauthorized")


async def test_refresh_with_an_unknown_token_is_unauthorized(
    presentai_client: httpx.AsyncClient,
) -> None:
    response = await presentai_client.post(REFRESH, json={"refresh_token": "rt_nope"})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": 42}])
async def test_refresh_with_an_invalid_body_is_a_validation_error(
    presentai_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await presentai_client.post(REFRESH, json=body)
    assert_error(response, 422, "validation_error")


# --- logout, logout-all ------------------------------------------------------------------------


async def test_logout_with_a_refresh_token_answers_204(presentai_client: httpx.AsyncClient) -> None:
    await register(presentai_client, "bye@example.com")
    tokens = await login(presentai_client, "bye@example.com")
    response = await presentai_client.post(
        LOGOUT,
        headers=bearer(tokens["access_token"]),
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    again = await presentai_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert_error(again, 401, "unauthorized")


async def test_logout_with_only_a_bearer_token_answers_204(
    presentai_client: httpx.AsyncClient,
) -> None:
    """The body is optional: a client may log out with nothing but its Authorization header."""
    await register(presentai_client, "bye2@example.com")
    tokens = await login(presentai_client, "bye2@example.com")
    response = await presentai_client.post(LOGOUT, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_logout_all_with_only_a_bearer_token_answers_204(
    presentai_client: httpx.AsyncClient,
) -> None:
    """Logout-all takes no body at all."""
    await register(presentai_client, "byeall@example.com")
    tokens = await login(presentai_client, "byeall@example.com")
    response = await presentai_client.post(LOGOUT_ALL, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_logout_all_with_an_empty_json_body_answers_204(
    presentai_client: httpx.AsyncClient,
) -> None:
    await register(presentai_client, "byeall2@example.com")
    tokens = await login(presentai_client, "byeall2@example.com")
    response = await presentai_client.post(
        LOGOUT_ALL, headers=bearer(tokens["access_token"]), json={}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    again = await presentai_client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert_error(again, 401, "unauthorized")


@pytest.mark.parametrize("path", [LOGOUT, LOGOUT_ALL])
async def test_logout_without_a_token_is_unauthorized(
    presentai_client: httpx.AsyncClient, path: str
) -> None:
    assert_error(await presentai_client.post(path, json={}), 401, "unauthorized")
    invalid = await presentai_client.post(path, headers=bearer("not-a-jwt"), json={})
    assert_error(invalid, 401, "unauthorized")


@pytest.mark.parametrize("path", [LOGOUT, LOGOUT_ALL])
async def test_logout_without_a_token_or_a_body_is_unauthorized(
    presentai_client: httpx.AsyncClient, path: str
) -> None:
    """No credentials is a 401 whether or not the (optional) body is there."""
    assert_error(await presentai_client.post(path), 401, "unauthorized")


# --- e-mail verification -----------------------------------------------------------------------


async def test_verify_email_activates_the_account(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = await register(presentai_client, "verify@example.com")
    assert created["status"] == "pending"
    assert created["is_email_verified"] is False
    token = await verification_token(runtime, "verify@example.com")

    response = await presentai_client.post(VERIFY, json={"token": token})
    assert response.status_code == 204, response.text
    assert response.content == b""

    user = await user_row(runtime, "verify@example.com")
    assert user.status == "active"
    assert user.is_email_verified is True
    assert user.email_verified_at is not None
    await login(presentai_client, "verify@example.com")


async def test_verify_email_stores_only_a_hash_of_the_token(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await register(presentai_client, "hashed@example.com")
    token = await verification_token(runtime, "hashed@example.com")
    async with runtime.db.session() as session:
        rows = (await session.execute(text("SELECT * FROM email_verifications"))).all()
    dump = " ".join(str(value) for row in rows for value in row)
    assert rows
    assert token not in dump


@pytest.mark.parametrize("token", ["nope", "A" * 43])
async def test_verify_email_with_an_unknown_token_is_refused(
    presentai_client: httpx.AsyncClient, runtime: Runtime, token: str
) -> None:
    await register(presentai_client, "unverified@example.com")
    response = await presentai_client.post(VERIFY, json={"token": token})
    body = assert_spec_error(response)
    assert body["error"] in ("bad_request", "validation_error", "not_found", "gone"), body
    assert (await user_row(runtime, "unverified@example.com")).status == "pending"


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": None}])
async def test_verify_email_with_an_invalid_body_is_a_validation_error(
    presentai_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_error(await presentai_client.post(VERIFY, json=body), 422, "validation_error")


# --- shared identity ---------------------------------------------------------------------------


async def test_a_site_user_can_sign_in_to_presentai(
    site_client: httpx.AsyncClient, presentai_client: httpx.AsyncClient
) -> None:
    await register(site_client, "from-site@example.com")
    tokens = await login(presentai_client, "from-site@example.com")
    assert tokens["expires_in"] == 900
    claims = jwt.decode(
        tokens["access_token"], JWT_SECRET, algorithms=["HS256"], audience="parmenid-presentai"
    )
    assert claims["exp"] - claims["iat"] == 900
    # ...and cannot register again on PresentAI.
    response = await presentai_client.post(
        REGISTER, json={"email": "from-site@example.com", "password": PASSWORD}
    )
    assert_error(response, 409, "conflict")


async def test_a_presentai_user_can_sign_in_to_the_site(
    site_client: httpx.AsyncClient, presentai_client: httpx.AsyncClient
) -> None:
    await register(presentai_client, "from-presentai@example.com")
    tokens = await login(site_client, "from-presentai@example.com")
    assert tokens["expires_in"] == 1800
    response = await site_client.post(
        f"{API}/auth/register", json={"email": "from-presentai@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "AUTH_USER_EXISTS"


async def test_verifying_on_presentai_activates_the_site_account(
    site_client: httpx.AsyncClient, presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await register(site_client, "one-person@example.com")
    token = await verification_token(runtime, "one-person@example.com")
    response = await presentai_client.post(VERIFY, json={"token": token})
    assert response.status_code == 204, response.text
    assert (await user_row(runtime, "one-person@example.com")).status == "active"


# --- error format, request ids, rate limits ----------------------------------------------------


async def test_every_response_carries_a_request_id(presentai_client: httpx.AsyncClient) -> None:
    ok = await presentai_client.get(f"{API}/health")
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{8,128}", ok.headers["x-request-id"])
    failed = await presentai_client.post(LOGIN, json={})
    body = assert_error(failed, 422, "validation_error")
    assert body["request_id"] != ok.headers["x-request-id"]


async def test_an_incoming_request_id_is_kept(presentai_client: httpx.AsyncClient) -> None:
    response = await presentai_client.post(
        LOGIN,
        headers={"X-Request-ID": "req_client-1234"},
        json={"email": "nobody@example.com", "password": PASSWORD},
    )
    assert response.headers["x-request-id"] == "req_client-1234"
    body = assert_error(response, 401, "unauthorized")
    assert body["request_id"] == "req_client-1234"


async def test_an_unsafe_incoming_request_id_is_replaced(
    presentai_client: httpx.AsyncClient,
) -> None:
    response = await presentai_client.get(
        f"{API}/health", headers={"X-Request-ID": "<script>alert(1)</script>"}
    )
    assert response.headers["x-request-id"]
    assert "<" not in response.headers["x-request-id"]


async def test_too_many_auth_requests_answer_429_with_retry_after(
    presentai_client: httpx.AsyncClient,
) -> None:
    responses = [
        await presentai_client.post(
            LOGIN, json={"email": f"guess{n}@example.com", "password": PASSWORD}
        )
        for n in range(12)
    ]
    statuses = [response.status_code for response in responses]
    assert statuses[:10] == [401] * 10, statuses
    limited = responses[-1]
    body = assert_error(limited, 429, "rate_limit_exceeded")
    assert isinstance(body["retry_after"], int) and 1 <= body["retry_after"] <= 60, body
    assert int(limited.headers["retry-after"]) >= 1


async def test_an_unknown_route_is_not_found(presentai_client: httpx.AsyncClient) -> None:
    assert_error(await presentai_client.get(f"{API}/no-such-thing"), 404, "not_found")


# --- hostile and malformed requests ------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"{bad json", b'{"email": "a@example.com",', b"\xff\xfe\x00garbage", b"{'single': 'quotes'}"],
    ids=["unclosed", "truncated", "not_utf8", "single_quotes"],
)
async def test_malformed_json_is_a_bad_request(
    presentai_client: httpx.AsyncClient, content: bytes
) -> None:
    for path in JSON_ENDPOINTS:
        response = await presentai_client.post(
            path, content=content, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b'{"email": "a@example.com", "password": "SecurePass123!"}'),
        ("application/x-www-form-urlencoded", b"email=a%40example.com&password=SecurePass123%21"),
        ("application/xml", b"<login><email>a@example.com</email></login>"),
        (None, b'{"email": "a@example.com", "password": "SecurePass123!"}'),
    ],
    ids=["text", "form", "xml", "none"],
)
async def test_a_body_that_is_not_json_is_an_unsupported_type(
    presentai_client: httpx.AsyncClient, content_type: str | None, content: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in JSON_ENDPOINTS:
        response = await presentai_client.post(path, content=content, headers=headers)
        assert_error(response, 415, "unsupported_file_type")


OVERSIZED = b'{"email": "big@example.com", "password": "' + b"A1" * 40_000 + b'"}'


@pytest.mark.parametrize("path", [REGISTER, LOGIN])
async def test_an_oversized_body_is_too_large(
    presentai_client: httpx.AsyncClient, path: str
) -> None:
    assert len(OVERSIZED) > 64 * 1024
    response = await presentai_client.post(
        path, content=OVERSIZED, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "file_too_large")


async def test_an_oversized_streamed_body_is_too_large(
    presentai_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(OVERSIZED), 8192):
            yield OVERSIZED[start : start + 8192]

    response = await presentai_client.post(
        LOGIN, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "file_too_large")


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b"null",
        b"42",
        b'"a string"',
        b"",
        b"[" * 5000 + b"]" * 5000,
        b'{"email": "a@example.com", "password": "' + b"x" * 60_000 + b'"}',
        b'{"email": {"$ne": null}, "password": {"$ne": null}}',
        b'{"email": "a@example.com\\u0000", "password": "Secure\\u0000Pass123!"}',
        b'{"email": "nul@example.com", "password": "SecurePass123!", "full_name": "Iv\\u0000an"}',
        b'{"email": "a@example.com", "password": "SecurePass123!", "email": "b@example.com"}',
    ],
    ids=[
        "array",
        "null",
        "number",
        "string",
        "empty",
        "deeply_nested",
        "long_field",
        "operator_injection",
        "nul_bytes",
        "nul_in_name",
        "duplicate_keys",
    ],
)
async def test_odd_bodies_never_cause_a_server_error(
    presentai_client: httpx.AsyncClient, content: bytes
) -> None:
    for path in (LOGIN, REGISTER):
        try:
            response = await presentai_client.post(
                path, content=content, headers={"Content-Type": "application/json"}
            )
        except Exception as exc:  # the in-process transport re-raises what became a 500
            pytest.fail(f"{path}: 500, unhandled {exc.__class__.__name__}: {exc}"[:400])
        if response.status_code in (200, 201):
            continue  # e.g. duplicate keys: the last one wins, which is a valid request
        assert_spec_error(response)
        assert response.json()["error"] in ("bad_request", "validation_error", "unauthorized")


# --- health and docs ---------------------------------------------------------------------------


async def test_health_reports_each_dependency(presentai_client: httpx.AsyncClient) -> None:
    response = await presentai_client.get(f"{API}/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    dependencies = body["dependencies"]
    assert dependencies["database"]["status"] == "up"
    for name, state in dependencies.items():
        assert state["status"] == "up", name
        assert isinstance(state["latency_ms"], int | float) and state["latency_ms"] >= 0, name


async def test_docs_and_openapi_answer(presentai_client: httpx.AsyncClient) -> None:
    docs = await presentai_client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    schema = await presentai_client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (REGISTER, LOGIN, REFRESH, LOGOUT, LOGOUT_ALL, VERIFY):
        assert "post" in paths.get(path, {}), path
