"""Sections 2 and 3 of the site API spec: `POST /auth/register` and `POST /auth/login`."""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from parmenid.core.jobs import Job
from parmenid.identity.models import User
from parmenid.runtime import Runtime
from tests.site.support import (
    ISO_UTC_Z,
    LOGIN_URL,
    REGISTER_URL,
    USER_EXISTS_TEXT,
    UUID_RE,
    assert_error,
    assert_validation_error,
    fresh_ip,
    from_ip,
    is_russian,
)

# "Пример" of section 2, exactly as written.
REGISTER_EXAMPLE = {
    "email": "user@example.com",
    "password": "SecurePass123!",
    "full_name": "Иван Петров",
}
USER_KEYS = {
    "id",
    "email",
    "full_name",
    "role",
    "status",
    "is_email_verified",
    "created_at",
    "last_login_at",
}
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}


async def register(
    client: httpx.AsyncClient, body: dict[str, Any], ip: str | None = None, **headers: str
) -> httpx.Response:
    return await client.post(REGISTER_URL, json=body, headers=from_ip(ip, **headers))


async def login(
    client: httpx.AsyncClient, email: str, password: str, ip: str | None = None, **headers: str
) -> httpx.Response:
    body = {"email": email, "password": password}
    return await client.post(LOGIN_URL, json=body, headers=from_ip(ip, **headers))


async def user_row(runtime: Runtime, email: str) -> User:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


def jwt_part(token: str, index: int) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3, token
    segment = parts[index] + "=" * (-len(parts[index]) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment))
    return decoded


# --- register --------------------------------------------------------------------------------


async def test_register_example(site_client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await register(site_client, REGISTER_EXAMPLE)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_KEYS, body
    assert UUID_RE.match(body["id"]), body
    assert body["email"] == "user@example.com"
    assert body["full_name"] == "Иван Петров"
    assert body["role"] == "owner"
    assert body["status"] == "pending"
    assert body["is_email_verified"] is False
    assert ISO_UTC_Z.match(body["created_at"]), body["created_at"]
    assert body["last_login_at"] is None

    row = await user_row(runtime, "user@example.com")
    assert str(row.id) == body["id"]
    assert row.full_name == "Иван Петров"
    assert row.password_hash != "SecurePass123!"
    assert "SecurePass123!" not in row.password_hash


async def test_register_without_full_name(site_client: httpx.AsyncClient) -> None:
    response = await register(site_client, {"email": "nobody@example.com", "password": "Abcdefg1"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_KEYS, body
    assert body["full_name"] is None


@pytest.mark.parametrize("email", ["user@example.com", "USER@EXAMPLE.COM", "User@Example.com"])
async def test_taken_email_is_a_conflict(site_client: httpx.AsyncClient, email: str) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await register(site_client, {**REGISTER_EXAMPLE, "email": email})
    error = assert_error(response, 409, "AUTH_USER_EXISTS")
    assert error["message"] == USER_EXISTS_TEXT


async def test_taken_email_message_in_english(site_client: httpx.AsyncClient) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await register(site_client, REGISTER_EXAMPLE, **{"Accept-Language": "en"})
    error = assert_error(response, 409, "AUTH_USER_EXISTS")
    assert not is_russian(error["message"]), error["message"]


@pytest.mark.parametrize(
    "password",
    [
        "Sh0rtPw",  # 7 characters
        "Aa1",
        "",
        "securepass123!",  # no capital
        "12345678",  # no capital
        "SecurePass!!",  # no digit
        "ABCDEFGHIJ",  # no digit
    ],
    ids=["short", "very-short", "empty", "no-capital", "digits-only", "no-digit", "caps-only"],
)
async def test_weak_password_is_a_validation_error(
    site_client: httpx.AsyncClient, runtime: Runtime, password: str
) -> None:
    response = await register(site_client, {**REGISTER_EXAMPLE, "password": password})
    error = assert_validation_error(response, "password")
    assert is_russian(error["message"]), error["message"]
    async with runtime.db.session() as session:
        assert await session.scalar(select(User).where(User.email == "user@example.com")) is None


async def test_weak_password_message_in_english(site_client: httpx.AsyncClient) -> None:
    response = await register(
        site_client, {**REGISTER_EXAMPLE, "password": "weak"}, **{"Accept-Language": "en"}
    )
    error = assert_validation_error(response, "password")
    assert not is_russian(error["message"]), error["message"]


@pytest.mark.parametrize("password", ["Abcdefg1", "пароль123Ы", "A1bcdefgh" * 10])
async def test_password_meeting_the_rule_is_accepted(
    site_client: httpx.AsyncClient, password: str
) -> None:
    response = await register(site_client, {"email": "ok@example.com", "password": password})
    assert response.status_code == 201, response.text


# --- login -----------------------------------------------------------------------------------


async def test_login_returns_the_spec_tokens(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await login(site_client, "user@example.com", "SecurePass123!")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_KEYS, body
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert isinstance(body["access_token"], str)
    assert body["access_token"]
    assert isinstance(body["refresh_token"], str)
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]

    header = jwt_part(body["access_token"], 0)
    assert header.get("alg") not in (None, "none"), header
    payload = jwt_part(body["access_token"], 1)
    assert payload["exp"] - payload["iat"] == 1800, payload
    assert abs(payload["iat"] - time.time()) < 120, payload

    assert (await user_row(runtime, "user@example.com")).last_login_at is not None


async def test_login_twice_gives_different_tokens(site_client: httpx.AsyncClient) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    first = (await login(site_client, "user@example.com", "SecurePass123!")).json()
    second = (await login(site_client, "user@example.com", "SecurePass123!")).json()
    assert first["refresh_token"] != second["refresh_token"]


async def test_login_email_is_case_insensitive(site_client: httpx.AsyncClient) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await login(site_client, "User@Example.COM", "SecurePass123!")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "password", ["securepass123!", "SecurePass123", "SecurePass123!!", " SecurePass123!"]
)
async def test_password_is_exact(site_client: httpx.AsyncClient, password: str) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await login(site_client, "user@example.com", password)
    assert_error(response, 401, "AUTH_INVALID_CREDENTIALS")


async def test_wrong_password_and_unknown_email_look_the_same(
    site_client: httpx.AsyncClient,
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    wrong = await login(site_client, "user@example.com", "WrongPass123!")
    unknown = await login(site_client, "ghost@example.com", "WrongPass123!")
    for response in (wrong, unknown):
        assert_error(response, 401, "AUTH_INVALID_CREDENTIALS")
    wrong_error = {k: v for k, v in wrong.json()["error"].items() if k != "request_id"}
    unknown_error = {k: v for k, v in unknown.json()["error"].items() if k != "request_id"}
    assert wrong_error == unknown_error
    assert is_russian(wrong_error["message"]), wrong_error

    wrong_en = await login(
        site_client, "user@example.com", "WrongPass123!", **{"Accept-Language": "en"}
    )
    unknown_en = await login(
        site_client, "ghost@example.com", "WrongPass123!", **{"Accept-Language": "en"}
    )
    wrong_en_error = assert_error(wrong_en, 401, "AUTH_INVALID_CREDENTIALS")
    unknown_en_error = assert_error(unknown_en, 401, "AUTH_INVALID_CREDENTIALS")
    assert wrong_en_error["message"] == unknown_en_error["message"]
    assert not is_russian(wrong_en_error["message"]), wrong_en_error


async def test_wrong_password_and_unknown_email_take_about_as_long(
    site_client: httpx.AsyncClient,
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201

    async def timed(email: str) -> float:
        start = time.perf_counter()
        response = await login(site_client, email, "WrongPass123!")
        elapsed = time.perf_counter() - start
        assert response.status_code == 401, response.text
        return elapsed

    await timed("user@example.com")
    await timed("ghost@example.com")
    wrong: list[float] = []
    unknown: list[float] = []
    for i in range(5):
        wrong.append(await timed("user@example.com"))
        unknown.append(await timed(f"ghost{i}@example.com"))
    slow, fast = sorted([statistics.median(wrong), statistics.median(unknown)], reverse=True)
    assert slow < 2 * fast, (wrong, unknown)


# --- rate limits: 10 per minute per IP -------------------------------------------------------


async def test_eleventh_registration_from_one_ip_is_refused(
    site_client: httpx.AsyncClient,
) -> None:
    ip = fresh_ip()
    for i in range(10):
        body = {"email": f"user{i}@example.com", "password": "SecurePass123!"}
        response = await register(site_client, body, ip)
        assert response.status_code == 201, response.text
    response = await register(site_client, {"email": "user10@example.com", "password": "x"}, ip)
    assert_error(response, 429, "RATE_LIMIT")
    retry_after = response.headers.get("retry-after")
    assert retry_after is not None, response.headers
    assert retry_after.isdigit(), retry_after
    assert 0 < int(retry_after) <= 60
    assert response.headers.get("ratelimit-policy"), response.headers
    assert response.headers.get("ratelimit"), response.headers

    other = await register(site_client, {"email": "user10@example.com", "password": "Abcdefg1"})
    assert other.status_code == 201, other.text


async def test_eleventh_login_from_one_ip_is_refused(site_client: httpx.AsyncClient) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    ip = fresh_ip()
    for _ in range(10):
        response = await login(site_client, "user@example.com", "SecurePass123!", ip)
        assert response.status_code == 200, response.text
    response = await login(site_client, "user@example.com", "SecurePass123!", ip)
    assert_error(response, 429, "RATE_LIMIT")
    retry_after = response.headers.get("retry-after")
    assert retry_after is not None, response.headers
    assert 0 < int(retry_after) <= 60
    english = await login(
        site_client, "user@example.com", "SecurePass123!", ip, **{"Accept-Language": "en"}
    )
    assert not is_russian(assert_error(english, 429, "RATE_LIMIT")["message"])

    other = await login(site_client, "user@example.com", "SecurePass123!", fresh_ip())
    assert other.status_code == 200, other.text


async def test_failed_logins_count_towards_the_ip_limit(site_client: httpx.AsyncClient) -> None:
    ip = fresh_ip()
    for i in range(10):
        response = await login(site_client, f"ghost{i}@example.com", "WrongPass123!", ip)
        assert_error(response, 401, "AUTH_INVALID_CREDENTIALS")
    response = await login(site_client, "ghost@example.com", "WrongPass123!", ip)
    assert_error(response, 429, "RATE_LIMIT")


# --- per-account throttle --------------------------------------------------------------------


async def guess_until_refused(client: httpx.AsyncClient, emails: list[str]) -> int:
    """Wrong passwords from a new IP each time; how many were answered 401 before a 429."""
    for attempt in range(30):
        response = await login(client, emails[attempt % len(emails)], f"Guess{attempt}Pass!")
        if response.status_code == 429:
            assert_error(response, 429, "RATE_LIMIT")
            return attempt
        assert_error(response, 401, "AUTH_INVALID_CREDENTIALS")
    pytest.fail("30 wrong passwords for one account from 30 addresses were never throttled")


async def test_password_guessing_from_many_ips_is_throttled_per_account(
    site_client: httpx.AsyncClient,
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    assert await guess_until_refused(site_client, ["user@example.com"]) >= 3

    response = await login(site_client, "user@example.com", "AnotherGuess1!", fresh_ip())
    error = assert_error(response, 429, "RATE_LIMIT")
    assert response.headers.get("retry-after"), response.headers
    assert error["message"]

    assert (await register(site_client, {**REGISTER_EXAMPLE, "email": "b@example.com"})).is_success
    other = await login(site_client, "b@example.com", "SecurePass123!", fresh_ip())
    assert other.status_code == 200, other.text


async def test_account_throttle_ignores_the_case_of_the_email(
    site_client: httpx.AsyncClient,
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    variants = ["user@example.com", "User@example.com", "USER@EXAMPLE.COM", "user@EXAMPLE.com"]
    await guess_until_refused(site_client, variants)
    response = await login(site_client, "uSeR@example.com", "AnotherGuess1!", fresh_ip())
    assert_error(response, 429, "RATE_LIMIT")


async def test_unknown_accounts_are_throttled_like_known_ones(
    site_client: httpx.AsyncClient,
) -> None:
    """Otherwise the 429 itself would tell which e-mail addresses are registered."""
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    known = await guess_until_refused(site_client, ["user@example.com"])
    unknown = await guess_until_refused(site_client, ["ghost@example.com"])
    assert known == unknown


# --- e-mail verification ---------------------------------------------------------------------


async def test_registration_sends_a_verification_email_that_works(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    async with runtime.db.session() as session:
        jobs = list(await session.scalars(select(Job).where(Job.name == "notify.email")))
    assert len(jobs) == 1, jobs
    payload = jobs[0].payload
    assert payload["to"] == "user@example.com"
    match = re.search(r"token=([^\s&\"'<>]+)", payload["text"])
    assert match, payload["text"]
    token = unquote(match.group(1))

    row = await user_row(runtime, "user@example.com")
    assert row.status == "pending"
    assert row.is_email_verified is False

    response = await site_client.post(
        "/api/v1/auth/verify-email", json={"token": token}, headers=from_ip()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    if "status" in body:
        assert body["status"] == "active"
    if "is_email_verified" in body:
        assert body["is_email_verified"] is True

    row = await user_row(runtime, "user@example.com")
    assert row.status == "active"
    assert row.is_email_verified is True


@pytest.mark.parametrize("token", ["not-a-token", "", "x" * 500])
async def test_bad_verification_token_is_refused(
    site_client: httpx.AsyncClient, runtime: Runtime, token: str
) -> None:
    assert (await register(site_client, REGISTER_EXAMPLE)).status_code == 201
    response = await site_client.post(
        "/api/v1/auth/verify-email", json={"token": token}, headers=from_ip()
    )
    assert 400 <= response.status_code < 500, response.text
    assert_error(response, response.status_code)
    assert (await user_row(runtime, "user@example.com")).status == "pending"
