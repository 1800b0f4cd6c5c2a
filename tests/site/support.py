"""Shared bits for the site contract tests: client addresses, the error envelope, formats."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx

LEADS_URL = "/api/v1/plan-requests/"
REGISTER_URL = "/api/v1/auth/register"
LOGIN_URL = "/api/v1/auth/login"
HEALTH_URL = "/api/v1/health"
ADMIN_LEADS_URL = "/api/v1/admin/plan-requests"

# The spec's UI texts (section "Сообщения после отправки").
MISSING_CONTACT_TEXT = "Пожалуйста, укажите способ связи (email, телефон или Telegram)"
LEAD_RATE_LIMIT_TEXT = "Вы уже отправили заявку. Мы обязательно свяжемся с вами!"
USER_EXISTS_TEXT = "Пользователь с таким email уже зарегистрирован. Войдите в личный кабинет."

ISO_UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

_PREFIXES = ("203.0.113", "198.51.100", "192.0.2")
_counter = itertools.count()


def fresh_ip() -> str:
    """A public-looking client address not used before in this test (limits reset per test)."""
    n = next(_counter) % (len(_PREFIXES) * 250)
    return f"{_PREFIXES[n // 250]}.{n % 250 + 1}"


def from_ip(ip: str | None = None, **extra: str) -> dict[str, str]:
    """Headers that make the app see the request as coming from `ip` (via the trusted proxy)."""
    return {"X-Forwarded-For": ip or fresh_ip(), **extra}


async def post_lead(
    client: httpx.AsyncClient,
    body: Any,
    *,
    ip: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(LEADS_URL, json=body, headers=from_ip(ip, **(headers or {})))


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The site error envelope: `{"error": {"code", "message", "request_id", ...}}`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error.get("code"), str), error
    assert error["code"], error
    assert error["code"] == error["code"].upper(), error
    if code is not None:
        assert error["code"] == code, error
    assert isinstance(error.get("message"), str), error
    assert error["message"].strip(), error
    assert error.get("request_id"), error
    assert error["request_id"] == response.headers.get("x-request-id"), (error, response.headers)
    if "details" in error:
        assert isinstance(error["details"], list), error
        for item in error["details"]:
            assert {"field", "message", "type"} <= set(item), item
    return error


def assert_validation_error(response: httpx.Response, field: str | None = None) -> dict[str, Any]:
    error = assert_error(response, 422, "VALIDATION_ERROR")
    if field is not None:
        fields = [str(item["field"]) for item in error.get("details", [])]
        assert any(field in name for name in fields), (field, error)
    return error


def assert_not_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error(response, response.status_code)


def is_russian(text: str) -> bool:
    return bool(CYRILLIC.search(text))


class Cases:
    """Runs many small checks in one test and reports every failing one, not just the first.

    Used where a parametrized test per case would cost a fresh database each time.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []

    @contextlib.contextmanager
    def case(self, label: object) -> Iterator[None]:
        try:
            yield
        except AssertionError as exc:
            self.failures.append(f"{label!r}: {exc}")

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} case(s) failed:\n" + "\n".join(
            self.failures
        )
