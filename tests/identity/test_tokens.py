"""Access and refresh tokens on both apps: rotation, reuse, logout, forgery and storage.

Every test runs against the site and PresentAI (`[...-site]`, `[...-presentai]`). Whether a token
is accepted is checked two ways: over HTTP (the site's admin list answers 401 for a bad token and
403 for a good one of a non-admin; PresentAI's logout answers 401 for a bad token) and, where a
check must not change anything, by asking `IdentityService.authenticate` directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select, text, update

from parmenid.core.db import utcnow
from parmenid.core.errors import Unauthorized
from parmenid.identity.models import RefreshToken, User
from parmenid.identity.service import Audience, IdentityService
from parmenid.runtime import Runtime
from tests.conftest import JWT_SECRET
from tests.helpers import PASSWORD, login, register

ISSUER = "parmenid"
AUDIENCES = {"site": "parmenid-site", "presentai": "parmenid-presentai"}
LIFETIMES = {"site": 1800, "presentai": 900}
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ADMIN_LIST = "/api/v1/admin/plan-requests"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """These tests sign in many times; rate limits have their own tests in the contract suite."""
    return {"rate_limit": {"enabled": False}}


@dataclass
class App:
    """One of the two apps, with what the tests need to talk to it."""

    name: str
    client: httpx.AsyncClient
    runtime: Runtime

    @property
    def audience(self) -> Audience:
        if self.name == "site":
            return self.runtime.site_audience
        return self.runtime.presentai_audience

    async def accepts(self, token: str) -> bool:
        """Whether the app would take `token` as a Bearer token (no side effects)."""
        async with self.runtime.db.session() as session:
            try:
                await IdentityService(session, self.runtime.identity).authenticate(
                    token, self.audience
                )
            except Unauthorized:
                return False
        return True

    async def call_with(self, authorization: str | None) -> httpx.Response:
        """A request that needs a signed-in user, with this Authorization header (or none)."""
        headers = {} if authorization is None else {"Authorization": authorization}
        if self.name == "site":
            return await self.client.get(ADMIN_LIST, headers=headers)
        return await self.client.post(LOGOUT, headers=headers, json={})

    async def assert_refused(self, token: str) -> None:
        """`token` is refused over HTTP with 401 and the app's envelope, and by the service."""
        problem = await self.refusal_problem(token)
        assert problem is None, problem

    async def refusal_problem(self, token: str) -> str | None:
        """None when `token` is refused as it should be; otherwise what went wrong."""
        if await self.accepts(token):  # checked first: the HTTP probe may have side effects
            return "accepted by IdentityService.authenticate"
        response = await self.call_with(f"Bearer {token}")
        try:
            assert_unauthorized(self.name, response)
        except AssertionError:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        return None

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post(REFRESH, json={"refresh_token": refresh_token})


def assert_unauthorized(app_name: str, response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    if app_name == "site":
        assert isinstance(body["error"], dict), body
        assert isinstance(body["error"]["code"], str) and body["error"]["code"], body
        assert body["error"]["message"], body
    else:
        assert body["error"] == "unauthorized", body
        assert body["message"], body
        assert body["request_id"] == response.headers["x-request-id"], body


def make_app(name: str, runtime: Runtime, clients: dict[str, httpx.AsyncClient]) -> App:
    return App(name, clients[name], runtime)


@pytest.fixture(params=["site", "presentai"])
def app_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def apps(
    runtime: Runtime, site_client: httpx.AsyncClient, presentai_client: httpx.AsyncClient
) -> dict[str, App]:
    clients = {"site": site_client, "presentai": presentai_client}
    return {name: make_app(name, runtime, clients) for name in clients}


@pytest.fixture
def app(apps: dict[str, App], app_name: str) -> App:
    return apps[app_name]


@pytest.fixture
def other(apps: dict[str, App], app_name: str) -> App:
    """The app that is not `app`."""
    return apps["presentai" if app_name == "site" else "site"]


async def signed_up(app: App, email: str) -> dict[str, Any]:
    """Register `email` on `app` and sign in there; the token pair."""
    await register(app.client, email)
    return await login(app.client, email)


async def refreshed(app: App, refresh_token: str) -> dict[str, Any]:
    response = await app.refresh(refresh_token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- crafting tokens -------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def signed(claims: dict[str, Any], *, key: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns that the test secret is short for HS512
        warnings.simplefilter("ignore")
        return jwt.encode(claims, key, algorithm=algorithm)


def unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims)}."


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """`token` with its payload replaced and its original header and signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{segment(claims)}.{signature}"


def changed(claims: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**claims, **values}


def now() -> int:
    return int(time.time())


FORGERIES: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "wrong_secret": lambda _t, c: signed(c, key="another-secret-that-is-long-enough-0123456789"),
    "alg_none": lambda _t, c: unsigned(c),
    "alg_None_capitalised": lambda _t, c: unsigned(c, "None"),
    "alg_none_with_original_signature": lambda t, c: unsigned(c) + t.rsplit(".", 1)[1],
    "signature_stripped": lambda t, _c: t.rsplit(".", 1)[0] + ".",
    "hs512_same_secret": lambda _t, c: signed(c, algorithm="HS512"),
    "hs384_same_secret": lambda _t, c: signed(c, algorithm="HS384"),
    "tampered_exp": lambda t, c: with_payload(t, changed(c, exp=c["exp"] + 86400)),
    "tampered_sub": lambda t, c: with_payload(t, changed(c, sub=str(uuid.uuid4()))),
    "tampered_aud": lambda t, c: with_payload(
        t, changed(c, aud=[AUDIENCES["site"], AUDIENCES["presentai"]])
    ),
    "expired": lambda _t, c: signed(changed(c, iat=now() - 4000, exp=now() - 60)),
    "not_yet_valid": lambda _t, c: signed(changed(c, nbf=now() + 3600)),
    "wrong_audience": lambda _t, c: signed(changed(c, aud="parmenid-admin")),
    "wrong_issuer": lambda _t, c: signed(changed(c, iss="evil")),
    "unknown_session": lambda _t, c: signed(changed(c, sid=str(uuid.uuid4()))),
    "unknown_user": lambda _t, c: signed(changed(c, sub=str(uuid.uuid4()))),
    "nonexistent_user_and_session": lambda _t, c: signed(
        changed(c, sub=str(uuid.uuid4()), sid=str(uuid.uuid4()))
    ),
    "non_uuid_subject": lambda _t, c: signed(changed(c, sub="1")),
    "non_uuid_session": lambda _t, c: signed(changed(c, sid="../../etc")),
    "newer_token_version": lambda _t, c: signed(changed(c, ver=c["ver"] + 1)),
    "non_integer_token_version": lambda _t, c: signed(changed(c, ver="latest")),
    "string_exp": lambda _t, c: signed(changed(c, exp="never")),
}


async def test_forged_access_tokens_are_refused(app: App) -> None:
    tokens = await signed_up(app, "forge@example.com")
    problems: dict[str, str] = {}
    for name, forge in FORGERIES.items():
        genuine = tokens["access_token"]
        if not await app.accepts(genuine):  # an accepted forgery may have logged it out
            tokens = await login(app.client, "forge@example.com")
            genuine = tokens["access_token"]
        assert await app.accepts(genuine)  # the forgery below is the only thing wrong
        problem = await app.refusal_problem(forge(genuine, claims_of(genuine)))
        if problem:
            problems[name] = problem
    assert not problems, problems


async def test_access_tokens_missing_a_claim_are_refused(app: App) -> None:
    tokens = await signed_up(app, "claims@example.com")
    problems: dict[str, str] = {}
    for claim in ("exp", "iat", "iss", "aud", "sub", "sid"):
        claims = claims_of(tokens["access_token"])
        assert await app.accepts(signed(claims))  # re-signing alone keeps it valid
        del claims[claim]
        problem = await app.refusal_problem(signed(claims))
        if problem:
            problems[claim] = problem
            tokens = await login(app.client, "claims@example.com")
    assert not problems, problems


async def test_a_token_for_the_other_app_is_refused(app: App, other: App) -> None:
    await register(app.client, "both@example.com")
    ours = await login(app.client, "both@example.com")
    theirs = await login(other.client, "both@example.com")
    assert claims_of(ours["access_token"])["aud"] == AUDIENCES[app.name]
    assert await other.accepts(theirs["access_token"])
    await app.assert_refused(theirs["access_token"])
    await other.assert_refused(ours["access_token"])


GARBAGE = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer null",
    "Bearer undefined",
    "Bearer abc",
    "Bearer a.b.c",
    "Bearer ...",
    "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
    "Bearer eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
    "Bearer !!!!.????.####",
    "Bearer " + "A" * 8000,
    "Basic dXNlcjpTZWN1cmVQYXNzMTIzIQ==",
]


async def test_garbage_authorization_is_unauthorized(app: App) -> None:
    problems: dict[str, str] = {}
    for authorization in GARBAGE:
        response = await app.call_with(authorization)
        try:
            assert_unauthorized(app.name, response)
        except AssertionError:
            problems[repr(authorization)[:40]] = f"{response.status_code}: {response.text[:200]}"
    assert not problems, problems


async def test_a_valid_token_under_another_scheme_or_a_refresh_token_is_refused(app: App) -> None:
    tokens = await signed_up(app, "scheme@example.com")
    for authorization in (
        f"Token {tokens['access_token']}",
        f"Basic {tokens['access_token']}",
        tokens["access_token"],
        f"Bearer {tokens['refresh_token']}",
    ):
        assert_unauthorized(app.name, await app.call_with(authorization))
    # ...and an access token is not a refresh token (refused as invalid, or as too long).
    response = await app.refresh(tokens["access_token"])
    assert response.status_code in (401, 422), response.text
    assert await app.accepts(tokens["access_token"])


async def test_access_token_claims_and_lifetime(app: App) -> None:
    tokens = await signed_up(app, "claims-ok@example.com")
    assert set(tokens) == TOKEN_KEYS
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == LIFETIMES[app.name]
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(
        tokens["access_token"],
        JWT_SECRET,
        algorithms=["HS256"],
        audience=AUDIENCES[app.name],
        issuer=ISSUER,
    )
    assert claims["exp"] - claims["iat"] == LIFETIMES[app.name]
    assert abs(claims["iat"] - now()) < 60
    # The refresh token is opaque, not a JWT carrying claims.
    assert tokens["refresh_token"].count(".") < 2


# Changes made behind the app's back (SQL) reach a process once its principal cache lets go of
# the sign-in; these tests turn the cache off, and the cache has tests of its own below.
NO_PRINCIPAL_CACHE = pytest.mark.parametrize(
    "settings_overrides", [{"auth": {"principal_cache_seconds": 0}}]
)


@NO_PRINCIPAL_CACHE
async def test_a_token_of_a_deleted_user_is_refused(app: App, runtime: Runtime) -> None:
    tokens = await signed_up(app, "gone@example.com")
    assert await app.accepts(tokens["access_token"])
    async with runtime.db.session() as session:
        await session.execute(text("DELETE FROM users WHERE email = 'gone@example.com'"))
    await app.assert_refused(tokens["access_token"])
    assert_unauthorized(app.name, await app.refresh(tokens["refresh_token"]))
    response = await app.client.post(
        "/api/v1/auth/login", json={"email": "gone@example.com", "password": PASSWORD}
    )
    assert_unauthorized(app.name, response)


@NO_PRINCIPAL_CACHE
async def test_a_disabled_users_tokens_are_refused(app: App, runtime: Runtime) -> None:
    tokens = await signed_up(app, "disabled@example.com")
    async with runtime.db.session() as session:
        await session.execute(
            update(User).where(User.email == "disabled@example.com").values(status="disabled")
        )
    await app.assert_refused(tokens["access_token"])
    assert_unauthorized(app.name, await app.refresh(tokens["refresh_token"]))
    response = await app.client.post(
        "/api/v1/auth/login", json={"email": "disabled@example.com", "password": PASSWORD}
    )
    assert response.status_code in (401, 403), response.text


@pytest.mark.parametrize("settings_overrides", [{"auth": {"principal_cache_seconds": 0.3}}])
async def test_the_principal_cache_lets_go_of_a_sign_in_after_its_ttl(
    app: App, runtime: Runtime
) -> None:
    """A verified sign-in is trusted for the TTL without a query, then checked again."""
    tokens = await signed_up(app, "cached@example.com")
    assert await app.accepts(tokens["access_token"])
    async with runtime.db.session() as session:
        await session.execute(
            update(User).where(User.email == "cached@example.com").values(status="disabled")
        )
    assert await app.accepts(tokens["access_token"])  # within the TTL: the cached verdict
    await asyncio.sleep(0.35)
    await app.assert_refused(tokens["access_token"])


async def test_logout_reaches_the_principal_cache_at_once(app: App, runtime: Runtime) -> None:
    tokens = await signed_up(app, "quick@example.com")
    assert runtime.settings.auth.principal_cache_seconds > 0
    assert await app.accepts(tokens["access_token"])  # now cached
    response = await app.client.post(
        "/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 204
    await app.assert_refused(tokens["access_token"])


# --- refresh rotation and reuse ----------------------------------------------------------------


async def test_refresh_rotates_the_refresh_token(app: App) -> None:
    first = await signed_up(app, "rotate@example.com")
    response = await app.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == TOKEN_KEYS
    assert second["token_type"] == "bearer"
    assert second["expires_in"] == LIFETIMES[app.name]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert await app.accepts(second["access_token"])
    # The old refresh token has been used up.
    assert_unauthorized(app.name, await app.refresh(first["refresh_token"]))


async def test_reusing_a_refresh_token_revokes_its_whole_family(app: App) -> None:
    first = await signed_up(app, "reuse@example.com")
    elsewhere = await login(app.client, "reuse@example.com")  # another session, same user
    second = await refreshed(app, first["refresh_token"])
    third = await refreshed(app, second["refresh_token"])
    assert await app.accepts(third["access_token"])

    # Someone replays the first refresh token (it was copied).
    assert_unauthorized(app.name, await app.refresh(first["refresh_token"]))

    # The newest refresh token of that family is dead too, and so are its access tokens.
    assert_unauthorized(app.name, await app.refresh(third["refresh_token"]))
    for tokens in (first, second, third):
        await app.assert_refused(tokens["access_token"])

    # The user's other session is not touched.
    assert await app.accepts(elsewhere["access_token"])
    assert (await app.refresh(elsewhere["refresh_token"])).status_code == 200


async def test_reuse_right_after_rotation_revokes_the_new_tokens(app: App) -> None:
    first = await signed_up(app, "reuse2@example.com")
    second = await refreshed(app, first["refresh_token"])
    assert_unauthorized(app.name, await app.refresh(first["refresh_token"]))
    await app.assert_refused(second["access_token"])
    assert_unauthorized(app.name, await app.refresh(second["refresh_token"]))


async def test_concurrent_refresh_of_one_token_succeeds_at_most_once(app: App) -> None:
    tokens = await signed_up(app, "race@example.com")
    responses = await asyncio.gather(*(app.refresh(tokens["refresh_token"]) for _ in range(2)))
    statuses = sorted(response.status_code for response in responses)
    assert all(status in (200, 401) for status in statuses), [r.text for r in responses]
    assert statuses.count(200) <= 1, statuses
    for response in responses:
        if response.status_code == 401:
            assert_unauthorized(app.name, response)
    # Whatever happened, the token that was raced for is spent.
    assert_unauthorized(app.name, await app.refresh(tokens["refresh_token"]))


async def test_concurrent_refresh_with_three_requests_succeeds_at_most_once(app: App) -> None:
    tokens = await signed_up(app, "race3@example.com")
    responses = await asyncio.gather(*(app.refresh(tokens["refresh_token"]) for _ in range(3)))
    statuses = [response.status_code for response in responses]
    assert all(status in (200, 401) for status in statuses), [r.text for r in responses]
    assert statuses.count(200) <= 1, statuses


async def test_an_expired_refresh_token_is_refused(app: App, runtime: Runtime) -> None:
    tokens = await signed_up(app, "stale@example.com")
    digest = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    async with runtime.db.session() as session:
        result = await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == digest)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert getattr(result, "rowcount", 0) == 1
    assert_unauthorized(app.name, await app.refresh(tokens["refresh_token"]))


async def test_a_refresh_token_works_only_on_its_own_app(app: App, other: App) -> None:
    tokens = await signed_up(app, "bound@example.com")
    assert_unauthorized(other.name, await other.refresh(tokens["refresh_token"]))


async def test_unknown_refresh_tokens_are_refused(app: App) -> None:
    problems: dict[str, str] = {}
    for refresh_token in ("x", "rt_" + "A" * 43, "null", "' OR '1'='1", "é" * 50):
        response = await app.refresh(refresh_token)
        try:
            assert_unauthorized(app.name, response)
        except AssertionError:
            problems[repr(refresh_token)] = f"{response.status_code}: {response.text[:200]}"
    assert not problems, problems
    # Text that no database can store is refused before any lookup, as invalid input.
    response = await app.refresh("\u0000")
    assert response.status_code == 422, response.text
    body = response.json()
    code = body["error"]["code"] if app.name == "site" else body["error"]
    assert code in ("VALIDATION_ERROR", "validation_error")


# --- logout ------------------------------------------------------------------------------------


async def test_logout_ends_that_session_only(app: App) -> None:
    mine = await signed_up(app, "logout@example.com")
    other_device = await login(app.client, "logout@example.com")
    response = await app.client.post(
        LOGOUT,
        headers={"Authorization": f"Bearer {mine['access_token']}"},
        json={"refresh_token": mine["refresh_token"]},
    )
    assert response.status_code == 204, response.text
    assert response.content == b""

    await app.assert_refused(mine["access_token"])
    assert_unauthorized(app.name, await app.refresh(mine["refresh_token"]))

    assert await app.accepts(other_device["access_token"])
    assert (await app.refresh(other_device["refresh_token"])).status_code == 200


async def test_logout_without_a_refresh_token_still_ends_the_session(app: App) -> None:
    tokens = await signed_up(app, "logout2@example.com")
    response = await app.client.post(
        LOGOUT, headers={"Authorization": f"Bearer {tokens['access_token']}"}, json={}
    )
    assert response.status_code == 204, response.text
    await app.assert_refused(tokens["access_token"])
    assert_unauthorized(app.name, await app.refresh(tokens["refresh_token"]))


async def test_logout_cannot_end_another_users_session(app: App) -> None:
    attacker = await signed_up(app, "attacker@example.com")
    victim = await signed_up(app, "victim@example.com")
    response = await app.client.post(
        LOGOUT,
        headers={"Authorization": f"Bearer {attacker['access_token']}"},
        json={"refresh_token": victim["refresh_token"]},
    )
    assert response.status_code == 204, response.text
    assert await app.accepts(victim["access_token"])
    assert (await app.refresh(victim["refresh_token"])).status_code == 200


async def test_logout_all_ends_every_session_of_the_user(app: App, other: App) -> None:
    first = await signed_up(app, "everywhere@example.com")
    second = await login(app.client, "everywhere@example.com")
    rotated = await refreshed(app, second["refresh_token"])
    on_other_app = await login(other.client, "everywhere@example.com")
    bystander = await signed_up(app, "bystander@example.com")

    response = await app.client.post(
        LOGOUT_ALL, headers={"Authorization": f"Bearer {first['access_token']}"}, json={}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""

    for access in (first["access_token"], second["access_token"], rotated["access_token"]):
        await app.assert_refused(access)
    await other.assert_refused(on_other_app["access_token"])
    for refresh in (first["refresh_token"], rotated["refresh_token"]):
        assert_unauthorized(app.name, await app.refresh(refresh))
    assert_unauthorized(other.name, await other.refresh(on_other_app["refresh_token"]))

    # Another user's tokens keep working.
    assert await app.accepts(bystander["access_token"])
    assert (await app.refresh(bystander["refresh_token"])).status_code == 200

    # The account itself is fine: signing in again gives working tokens.
    again = await login(app.client, "everywhere@example.com")
    assert await app.accepts(again["access_token"])


# --- storage -----------------------------------------------------------------------------------

ARGON2 = re.compile(r"^\$argon2id\$v=(?P<v>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")


async def test_passwords_are_stored_as_argon2id(app: App, runtime: Runtime) -> None:
    await register(app.client, "hash@example.com")
    async with runtime.db.session() as session:
        stored = await session.scalar(
            select(User.password_hash).where(User.email == "hash@example.com")
        )
    assert stored is not None
    assert PASSWORD not in stored
    match = ARGON2.match(stored)
    assert match is not None, stored
    assert int(match["v"]) == 19
    assert int(match["m"]) >= 19456
    assert int(match["t"]) >= 2
    assert int(match["p"]) >= 1


async def rows_as_text(runtime: Runtime, table: str) -> list[str]:
    async with runtime.db.session() as session:
        rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
    return [" ".join(str(value) for value in row) for row in rows]


async def test_refresh_tokens_are_stored_only_as_sha256(app: App, runtime: Runtime) -> None:
    first = await signed_up(app, "stored@example.com")
    second = await refreshed(app, first["refresh_token"])
    raw_tokens = [first["refresh_token"], second["refresh_token"]]

    async with runtime.db.session() as session:
        hashes = set((await session.scalars(select(RefreshToken.token_hash))).all())
    assert len(hashes) == 2
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in hashes), hashes
    assert hashes == {hashlib.sha256(raw.encode()).hexdigest() for raw in raw_tokens}

    for table in ("refresh_tokens", "auth_sessions", "users"):
        dump = "\n".join(await rows_as_text(runtime, table))
        for raw in raw_tokens:
            assert raw not in dump, table
            assert raw.removeprefix("rt_") not in dump, table
