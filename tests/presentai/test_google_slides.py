"""Connecting a Google account (OAuth 2.0 + PKCE) and exporting a deck to Google Slides, against
a protocol-faithful Google on a loopback socket (`tests/fakes/google.py`) that validates every
`batchUpdate` request."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.presentai.oauth.crypto import TokenSealer
from parmenid.presentai.oauth.google_slides import (
    GoogleNotConnected,
    GoogleSlidesFailed,
    is_connected,
    publish_deck,
)
from parmenid.presentai.oauth.models import OAuthConnection, OAuthState
from parmenid.presentai.oauth.slides_builder import MAX_REQUESTS_PER_BATCH
from parmenid.presentai.render.deck import (
    BrandStyle,
    Chart,
    ChartSeries,
    Deck,
    DeckBullet,
    DeckSlide,
    Table,
)
from parmenid.runtime import Runtime
from tests.fakes.google import SLIDES_SCOPE, FakeGoogle
from tests.fakes.server import ServerThread
from tests.helpers import bearer, error_of, login, register

CALLBACK = "http://testserver/api/v1/oauth/google/callback"
MAX_ATTEMPTS = 3

DECK = Deck(
    title="Итоги квартала",
    subtitle="Q3 2026",
    slides=[
        DeckSlide(1, "Итоги квартала", "title"),
        DeckSlide(
            2,
            "Growth 📈 drivers",
            "bullets",
            bullets=[
                DeckBullet("Выручка выросла на 12% 📈", "report.pdf, p. 3"),
                DeckBullet("Churn fell to 2%", "crm.xlsx"),
                DeckBullet("Our own remark"),
                DeckBullet("Again from the report", "report.pdf, p. 3"),
            ],
            speaker_notes="Mention the new region.\nThen pause.",
        ),
        DeckSlide(
            3,
            "By region",
            "table",
            table=Table(columns=["Region", "Revenue"], rows=[["North", "120"], ["South"]]),
        ),
    ],
)


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle(redirect_uris={CALLBACK})
    with ServerThread(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.fixture(autouse=True)
def _reset(google: FakeGoogle) -> None:
    google.reset()


@pytest.fixture
def settings_overrides(google: FakeGoogle) -> dict[str, Any]:
    return {
        "presentai": {"public_url": "http://testserver"},
        "google": {
            "client_id": google.client_id,
            "client_secret": google.client_secret,
            "auth_url": f"{google.url}/o/oauth2/v2/auth",
            "token_url": f"{google.url}/token",
            "revoke_url": f"{google.url}/revoke",
            "slides_api_url": google.url,
            "drive_api_url": google.url,
            "timeout_seconds": 5,
            "max_attempts": MAX_ATTEMPTS,
            "backoff_seconds": 0.01,
        },
    }


async def authorize(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> str:
    response = await client.get("/api/v1/oauth/google/authorize", headers=headers, params=params)
    assert response.status_code == 200, response.text
    url: str = response.json()["authorization_url"]
    return url


async def consent(url: str) -> str:
    """The browser at Google: the person allows (or not); Google's redirect back to us."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return location


async def connect(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get(await consent(await authorize(client, headers, **params)))


async def user_id_of(client: httpx.AsyncClient, headers: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/api/v1/users/me", headers=headers)).json()["id"])


async def connection_of(runtime: Runtime, user_id: uuid.UUID) -> OAuthConnection | None:
    async with runtime.db.session() as session:
        return await session.scalar(
            select(OAuthConnection).where(OAuthConnection.user_id == user_id)
        )


async def expire_stored_token(runtime: Runtime, user_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(OAuthConnection)
            .where(OAuthConnection.user_id == user_id)
            .values(expires_at=utcnow() - timedelta(minutes=5))
        )


async def background_done(runtime: Runtime) -> None:
    if runtime.background:
        await asyncio.wait(list(runtime.background), timeout=10)


async def test_connect_store_sealed_and_publish(
    presentai_client: httpx.AsyncClient,
    runtime: Runtime,
    google: FakeGoogle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = await bearer(presentai_client, "ann@example.com")
    user_id = await user_id_of(presentai_client, headers)
    assert not await is_connected(runtime, user_id)

    url = await authorize(presentai_client, headers)
    asked = parse_qs(urlsplit(url).query)
    assert asked["scope"][0].split() == [
        "https://www.googleapis.com/auth/presentations",
        "https://www.googleapis.com/auth/drive.file",
        "openid",
        "email",
    ]
    assert asked["access_type"] == ["offline"] and asked["prompt"] == ["consent"]
    assert asked["code_challenge_method"] == ["S256"] and asked["redirect_uri"] == [CALLBACK]
    state = asked["state"][0]
    async with runtime.db.session() as session:
        stored_state = await session.scalar(select(OAuthState))
    assert stored_state is not None and stored_state.state_hash != state  # hashed

    answer = await presentai_client.get(await consent(url))
    assert answer.status_code == 200, answer.text
    assert "text/html" in answer.headers["content-type"]
    assert "ann.person@gmail.example" in answer.text and "close this window" in answer.text
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    exchange = google.token_forms[-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]

    connection = await connection_of(runtime, user_id)
    assert connection is not None and connection.account_email == "ann.person@gmail.example"
    assert SLIDES_SCOPE in connection.scopes.split()
    access, refresh = list(google.access_tokens), list(google.refresh_tokens)
    assert len(access) == 1 and len(refresh) == 1
    assert access[0].encode() not in connection.access_token_sealed
    assert connection.refresh_token_sealed is not None
    assert refresh[0].encode() not in connection.refresh_token_sealed
    async with runtime.db.session() as session:
        assert (await session.scalar(select(OAuthState))) is None  # spent

    listed = await presentai_client.get("/api/v1/oauth/connections", headers=headers)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["provider"] == "google" and item["account_email"] == "ann.person@gmail.example"
    assert SLIDES_SCOPE in item["scopes"] and item["connected_at"]
    assert await is_connected(runtime, user_id)

    file_id = await publish_deck(runtime, user_id, DECK)

    assert google.rejected == []
    presentation = google.presentations[file_id]
    assert presentation.title == "Итоги квартала"
    assert len(presentation.slides) == 3 and "p" not in presentation.slides  # default slide gone
    layouts = [presentation.objects[s].layout for s in presentation.slides]
    assert layouts == ["TITLE", "TITLE_AND_BODY", "TITLE_ONLY"]
    first, second, third = presentation.slides
    assert presentation.slide_texts(first) == ["Итоги квартала", "Q3 2026"]
    assert presentation.slide_texts(second) == [
        "Growth 📈 drivers",
        "Выручка выросла на 12% 📈 [1]\nChurn fell to 2% [2]\nOur own remark\n"
        "Again from the report [1]",
        "[1] report.pdf, p. 3\n[2] crm.xlsx",
    ]
    assert presentation.slide_texts(third) == [
        "By region",
        "Region",
        "Revenue",
        "North",
        "120",
        "South",
    ]
    body = next(
        e
        for e in presentation.objects.values()
        if e.page == second and e.placeholder == ("BODY", 0)
    )
    assert body.bulleted
    superscripts = [s["text"] for s in body.styles if "baselineOffset" in s["style"]]
    assert superscripts == ["[1]", "[2]", "[1]"]  # UTF-16 ranges past the emoji are right
    table = next(e for e in presentation.objects.values() if e.kind == "table")
    header_styles = [s for s in table.styles if s["cell"] == {"rowIndex": 0, "columnIndex": 0}]
    assert header_styles and header_styles[0]["style"]["bold"] is True
    assert presentation.notes_of(second) == "Mention the new region.\nThen pause."
    assert presentation.notes_of(first) == "" and presentation.notes_of(third) == ""
    assert presentation.objects[first].background == {
        "rgbColor": {"red": 0.1216, "green": 0.2275, "blue": 0.5765}
    }
    # One batch builds the slides, a GET finds the notes shapes, one batch writes the notes.
    assert len(google.batches) == 2 and len(google.calls("get")) == 1
    assert google.batches[0][0] == {"deleteObject": {"objectId": "p"}}

    # (The authorization code is in the test browser's own request log, so it is not checked.)
    secrets = [*google.issued_tokens(), exchange["code_verifier"]]
    for secret in secrets:
        leaked = [
            r.name + ": " + r.getMessage() for r in caplog.records if secret in r.getMessage()
        ]
        assert not leaked, leaked
        assert secret not in answer.text and secret not in listed.text


async def test_every_layout_builds_valid_requests(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "layouts@example.com")
    user_id = await user_id_of(presentai_client, headers)
    assert (await connect(presentai_client, headers)).status_code == 200
    google.rules.omit_speaker_notes_shapes = True  # Google creates them on the first text operation
    chart = Chart(
        "bar", ["2024", "2025"], [ChartSeries("Sales", [1.5, 2.0]), ChartSeries("Cost", [1])]
    )
    deck = Deck(
        title="All layouts",
        style=BrandStyle(attribution="notes", primary="#000000", heading_font=""),
        slides=[
            DeckSlide(1, "Part one", "section"),
            DeckSlide(2, "Two", "two_columns", bullets=[DeckBullet(t) for t in "abc"]),
            DeckSlide(
                3,
                "Quote",
                "quote",
                bullets=[DeckBullet("Less is more", "m.pdf")],
                quote_author="Mies",
            ),
            DeckSlide(4, "Chart", "chart", chart=chart, speaker_notes="Bars."),
            DeckSlide(5, "Picture", "image_text", bullets=[DeckBullet("Caption")], image=b"x"),
            DeckSlide(6, "Empty", "bullets"),
            DeckSlide(7, "Thanks", "closing", bullets=[DeckBullet("Questions?")]),
        ],
    )
    file_id = await publish_deck(runtime, user_id, deck)
    assert google.rejected == []
    presentation = google.presentations[file_id]
    slides = presentation.slides
    assert [presentation.objects[s].layout for s in slides] == [
        "SECTION_HEADER",
        "TITLE_AND_TWO_COLUMNS",
        "TITLE_AND_BODY",
        "TITLE_ONLY",
        "TITLE_AND_BODY",
        "TITLE_ONLY",
        "TITLE",
    ]
    assert presentation.slide_texts(slides[1]) == ["Two", "a\nb", "c"]
    assert presentation.slide_texts(slides[2]) == ["Quote", "“Less is more”\n— Mies"]
    assert presentation.notes_of(slides[2]) == "Sources:\n[1] m.pdf"  # attribution in notes
    assert presentation.slide_texts(slides[3]) == [
        "Chart",
        "Sales",
        "Cost",
        "2024",
        "1.5",
        "1",
        "2025",
        "2",
    ]
    assert presentation.notes_of(slides[3]) == "Bars."
    assert presentation.slide_texts(slides[6]) == ["Thanks", "Questions?"]


async def test_expired_token_is_refreshed(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "bob@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    before = await connection_of(runtime, user_id)
    assert before is not None
    google.expire_access_tokens()
    await expire_stored_token(runtime, user_id)

    file_id = await publish_deck(runtime, user_id, DECK)

    assert file_id in google.presentations
    assert [f["grant_type"] for f in google.token_forms] == ["authorization_code", "refresh_token"]
    after = await connection_of(runtime, user_id)
    assert after is not None and after.expires_at is not None and after.expires_at > utcnow()
    assert after.access_token_sealed != before.access_token_sealed
    assert after.refresh_token_sealed == before.refresh_token_sealed  # Google kept it


async def test_token_refused_by_the_api_is_refreshed_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "cid@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    google.expire_access_tokens()  # our row still says it is valid: the API answers 401

    await publish_deck(runtime, user_id, DECK)

    assert [f["grant_type"] for f in google.token_forms][-1] == "refresh_token"
    assert google.rejected == []


async def test_revoked_grant_means_not_connected_and_the_connection_goes(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "dee@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    google.revoke_everything()
    await expire_stored_token(runtime, user_id)

    with pytest.raises(GoogleNotConnected) as raised:
        await publish_deck(runtime, user_id, DECK)

    assert raised.value.status == 409 and raised.value.code == "google_not_connected"
    assert "connect your google account again" in raised.value.message.en.lower()
    assert await connection_of(runtime, user_id) is None
    assert not await is_connected(runtime, user_id)
    assert google.calls("create") == []


async def test_never_connected(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    headers = await bearer(presentai_client, "eve@example.com")
    with pytest.raises(GoogleNotConnected) as raised:
        await publish_deck(runtime, await user_id_of(presentai_client, headers), DECK)
    assert raised.value.extra["connect_url"] == "/api/v1/oauth/google/authorize"


async def test_slides_api_down_fails_after_retries(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "fay@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    google.fail("create")

    with pytest.raises(GoogleSlidesFailed) as raised:
        await publish_deck(runtime, user_id, DECK)

    assert raised.value.status == 503 and raised.value.code == "google_slides_unavailable"
    assert "503" in raised.value.message.en and "PPTX" in raised.value.message.en
    assert len(google.calls("create")) == MAX_ATTEMPTS


async def test_failed_build_deletes_the_unfinished_presentation(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "gus@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    google.fail("batch")

    with pytest.raises(GoogleSlidesFailed):
        await publish_deck(runtime, user_id, DECK)

    assert len(google.calls("batch")) == MAX_ATTEMPTS
    (presentation,) = google.presentations.values()
    assert presentation.deleted  # Drive files.delete of the half-built file


async def test_rate_limited_call_is_retried(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "hal@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    google.fail("batch", times=1, status=429)

    file_id = await publish_deck(runtime, user_id, DECK)

    assert not google.presentations[file_id].deleted
    assert len(google.calls("batch")) == 3 and len(google.batches) == 2


async def test_state_is_single_use_and_expires(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "ida@example.com")
    location = await consent(await authorize(presentai_client, headers))
    assert (await presentai_client.get(location)).status_code == 200
    replay = await presentai_client.get(location)
    assert error_of(replay, 400, "bad_request")["reason"] == "state_invalid"
    assert "already used" in replay.json()["message"]

    location = await consent(await authorize(presentai_client, headers))
    async with runtime.db.session() as session:
        await session.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await presentai_client.get(location)
    assert error_of(expired, 400, "bad_request")["reason"] == "state_expired"
    assert len(google.token_forms) == 1  # neither reached Google's token endpoint

    unknown = await presentai_client.get(CALLBACK, params={"code": "x", "state": "forged"})
    assert error_of(unknown, 400, "bad_request")["reason"] == "state_invalid"
    missing = await presentai_client.get(CALLBACK, params={"code": "x"})
    assert error_of(missing, 400, "bad_request")["reason"] == "state_invalid"


async def test_refusal_at_google(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "jon@example.com")
    user_id = await user_id_of(presentai_client, headers)
    google.consent = "deny"
    denied = await connect(presentai_client, headers)
    body = error_of(denied, 400, "bad_request")
    assert body["reason"] == "provider_error" and body["provider_error"] == "access_denied"
    assert "access_denied" in body["message"]

    google.consent = "allow"
    google.withheld_scopes = {SLIDES_SCOPE}  # the person unticked Slides on the consent screen
    partial = await connect(presentai_client, headers)
    assert error_of(partial, 400, "bad_request")["reason"] == "scope_not_granted"
    assert await connection_of(runtime, user_id) is None
    await background_done(runtime)
    assert len(google.revoked) == 1  # the useless grant is handed back

    no_state = await presentai_client.get(CALLBACK, params={"error": "access_denied"})
    assert error_of(no_state, 400, "bad_request")["reason"] == "state_invalid"


async def test_redirects(presentai_client: httpx.AsyncClient, google: FakeGoogle) -> None:
    headers = await bearer(presentai_client, "kim@example.com")
    back = await connect(presentai_client, headers, redirect_after="/settings/profile?tab=oauth")
    assert back.status_code == 303 and back.headers["location"] == "/settings/profile?tab=oauth"
    assert back.headers["referrer-policy"] == "no-referrer"

    away = await presentai_client.get(
        "/api/v1/oauth/google/authorize",
        headers=headers,
        params={"redirect_after": "https://evil.example/steal"},
    )
    assert error_of(away, 422, "validation_error")["details"][0]["field"] == "redirect_after"
    for sneaky in ("//evil.example/x", "/\\evil.example"):
        answer = await presentai_client.get(
            "/api/v1/oauth/google/authorize", headers=headers, params={"redirect_after": sneaky}
        )
        assert answer.status_code == 422

    to_google = await presentai_client.get(
        "/api/v1/oauth/google/authorize", headers=headers, params={"redirect": "true"}
    )
    assert to_google.status_code == 302
    assert to_google.headers["location"].startswith(f"{google.url}/o/oauth2/v2/auth?")


async def test_who_may_connect(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    registered = await register(presentai_client, "lea@example.com")
    headers = await bearer(presentai_client, "lee@example.com")
    tokens = await login(presentai_client, "lea@example.com")
    owner = {"Authorization": f"Bearer {tokens['access_token']}"}
    created = await presentai_client.post(
        "/api/v1/api-keys",
        json={
            "organization_id": registered["organization"]["id"],
            "name": "ci",
            "scopes": ["presentations:read", "exports:write"],
        },
        headers=owner,
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    by_key = await presentai_client.get("/api/v1/oauth/google/authorize", headers=key)
    error_of(by_key, 403, "insufficient_scope")
    error_of(await presentai_client.get("/api/v1/oauth/google/authorize"), 401, "unauthorized")

    unknown = await presentai_client.get("/api/v1/oauth/dropbox/authorize", headers=headers)
    assert "supported: google" in error_of(unknown, 404, "not_found")["message"]

    runtime.settings.google.client_id = None
    off = await presentai_client.get("/api/v1/oauth/google/authorize", headers=headers)
    assert "PARMENID_GOOGLE__CLIENT_ID" in error_of(off, 503, "provider_not_configured")["message"]


async def test_disconnect(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "max@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    refresh = next(iter(google.refresh_tokens))

    gone = await presentai_client.delete("/api/v1/oauth/google", headers=headers)
    assert gone.status_code == 204
    await background_done(runtime)
    assert google.revoked == [refresh] and google.access_tokens == {}
    assert await connection_of(runtime, user_id) is None
    listed = await presentai_client.get("/api/v1/oauth/connections", headers=headers)
    assert listed.json() == {"items": []}
    with pytest.raises(GoogleNotConnected):
        await publish_deck(runtime, user_id, DECK)
    again = await presentai_client.delete("/api/v1/oauth/google", headers=headers)
    assert again.status_code == 204

    await connect(presentai_client, headers)
    google.fail("revoke")  # Google unreachable: the connection goes anyway
    assert (
        await presentai_client.delete("/api/v1/oauth/google", headers=headers)
    ).status_code == 204
    await background_done(runtime)
    assert await connection_of(runtime, user_id) is None


async def test_reconnect_replaces_tokens(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "ned@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    first = await connection_of(runtime, user_id)
    assert (await connect(presentai_client, headers)).status_code == 200
    second = await connection_of(runtime, user_id)
    assert first is not None and second is not None and first.id == second.id
    assert second.access_token_sealed != first.access_token_sealed
    await publish_deck(runtime, user_id, DECK)


async def test_a_lost_answer_to_a_batch_is_not_repeated(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    """Google may have applied a batch whose answer never came: repeating it could build the
    slides twice, so the export fails instead and the unfinished file is deleted."""
    headers = await bearer(presentai_client, "oli@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    runtime.settings.google.timeout_seconds = 0.5
    google.slow("batch", 1.5)

    with pytest.raises(GoogleSlidesFailed) as raised:
        await publish_deck(runtime, user_id, DECK)

    assert "may have been applied" in raised.value.message.en
    assert len(google.calls("batch")) == 1
    assert len(google.calls("drive")) == 1


async def test_tokens_sealed_under_another_secret_mean_not_connected(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    headers = await bearer(presentai_client, "pia@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    async with runtime.db.session() as session:
        assert await is_connected(session, user_id)
    runtime.settings.auth.jwt_secret = SecretStr("a-rotated-server-secret-0123456789-abcdefgh")

    with pytest.raises(GoogleNotConnected):
        await publish_deck(runtime, user_id, DECK)
    assert await connection_of(runtime, user_id) is None


def test_a_sealed_token_opens_only_for_its_owner_and_kind() -> None:
    sealer = TokenSealer("server-secret")
    ann, bob = uuid.uuid4(), uuid.uuid4()
    sealed = sealer.seal("ya29.secret", ann, "google", "refresh")
    assert b"ya29.secret" not in sealed
    assert sealer.open(sealed, ann, "google", "refresh") == "ya29.secret"
    assert sealer.open(sealed, bob, "google", "refresh") is None
    assert sealer.open(sealed, ann, "google", "access") is None
    assert TokenSealer("another-secret").open(sealed, ann, "google", "refresh") is None
    assert sealer.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), ann, "google", "refresh") is None


async def test_a_long_deck_is_built_in_several_batches(
    presentai_client: httpx.AsyncClient, runtime: Runtime, google: FakeGoogle
) -> None:
    headers = await bearer(presentai_client, "rex@example.com")
    user_id = await user_id_of(presentai_client, headers)
    await connect(presentai_client, headers)
    rows = [[f"r{r}c{c}" for c in range(4)] for r in range(9)]
    slides = [
        DeckSlide(n, f"Table {n}", "table", table=Table([f"h{c}" for c in range(4)], rows))
        for n in range(1, 21)
    ]
    file_id = await publish_deck(runtime, user_id, Deck(title="Long", slides=slides))

    assert google.rejected == []
    build = google.batches  # no speaker notes: no read-back, no notes batch
    assert len(build) > 1 and all(len(batch) <= MAX_REQUESTS_PER_BATCH for batch in build)
    presentation = google.presentations[file_id]
    titles = [presentation.slide_texts(s)[0] for s in presentation.slides]
    assert titles == [f"Table {n}" for n in range(1, 21)]
    assert google.calls("get") == []
