"""Small helpers for tests: registering users, making admins, reading rows."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from parmenid.identity.models import User
from parmenid.runtime import Runtime

PASSWORD = "SecurePass123!"


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_platform_admin(runtime: Runtime, email: str) -> None:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        user.is_platform_admin = True


async def admin_headers(
    client: httpx.AsyncClient, runtime: Runtime, email: str = "admin@example.com"
) -> dict[str, str]:
    """Register `email`, make it a platform admin, sign in; the Authorization header."""
    await register(client, email)
    await make_platform_admin(runtime, email)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def bearer(client: httpx.AsyncClient, email: str, **extra: Any) -> dict[str, str]:
    """Register `email`, sign in; the Authorization header."""
    await register(client, email, **extra)
    tokens = await login(client, email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert a PresentAI error envelope with `status` and `code`; its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["request_id"] == response.headers["x-request-id"]
    return body
