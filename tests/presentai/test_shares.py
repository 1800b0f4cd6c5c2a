"""Public share links, the public deck and viewer page, and view analytics (contract tests).

Presentations and slides are made as rows; everything else goes through the API. Viewers on
different machines are told apart by `X-Forwarded-For` (the test client's address, 127.0.0.1,
is a trusted proxy by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.jobs import Job, JobContext
from parmenid.identity.audit import AuditEntry
from parmenid.identity.models import Membership, Role, User
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project
from parmenid.presentai.shares.analytics import FORGET_SALTS_JOB, SLACK_MS, forget_salts_handler
from parmenid.presentai.shares.models import AnalyticsSalt, Share, ShareView
from parmenid.presentai.slides.models import Slide
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of

API = "/api/v1"
VIEWER_A = {"X-Forwarded-For": "203.0.113.10", "User-Agent": "Viewer A"}
VIEWER_B = {"X-Forwarded-For": "203.0.113.20", "User-Agent": "Viewer B"}
PASSWORD = "correct horse battery"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,}")


def _bullet(text: str, citation: str | None = None, document: str = "report.pdf") -> Any:
    if citation is None:
        return {"text": text, "attribution": None}
    return {
        "text": text,
        "attribution": {
            "document_id": str(uuid.uuid4()),
            "document": document,
            "chunk_id": "chunk-secret-42",
            "location": {"page": 3},
            "citation": citation,
            "excerpt": "an excerpt that must stay private",
        },
    }


SLIDES: list[tuple[str, str, list[Any]]] = [
    ("Квартальный отчёт", "title", [_bullet("Итоги третьего квартала")]),
    (
        "Выручка",
        "bullets",
        [
            _bullet("Выручка выросла на 12%", "report.pdf, p. 3"),
            _bullet("Маржа стабильна", "report.pdf, p. 4"),
            _bullet("Ещё один факт", "report.pdf, p. 3"),
        ],
    ),
    ("Планы", "two_columns", [_bullet("Новый рынок"), _bullet("Новый продукт")]),
    ("Спасибо", "closing", []),
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"presentai": {"public_url": "https://present.example/"}}


@dataclass
class Deck:
    organization_id: str
    presentation_id: str
    owner: dict[str, str]

    @property
    def shares(self) -> str:
        return f"{API}/presentations/{self.presentation_id}/shares"

    @property
    def analytics(self) -> str:
        return f"{API}/presentations/{self.presentation_id}/analytics"


async def make_deck(
    client: httpx.AsyncClient, runtime: Runtime, email: str = "owner@example.com"
) -> Deck:
    owner = await bearer(client, email)
    created = await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=owner)
    assert created.status_code == 201, created.text
    org_id = uuid.UUID(created.json()["id"])
    async with runtime.db.session() as session:
        project = Project(organization_id=org_id, name="P", search_text="p")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=org_id,
            project_id=project.id,
            title="Отчёт <Q3> & планы",
            parameters={"language": "ru"},
            status="ready",
        )
        session.add(presentation)
        await session.flush()
        for position, (title, layout, bullets) in enumerate(SLIDES, start=1):
            session.add(
                Slide(
                    organization_id=org_id,
                    presentation_id=presentation.id,
                    position=position,
                    title=title,
                    layout=layout,
                    content={"bullets": bullets, "speaker_notes": "private speaker notes"},
                    status="ready",
                    version=1,
                )
            )
        return Deck(str(org_id), str(presentation.id), owner)


async def make_share(client: httpx.AsyncClient, deck: Deck, **body: Any) -> dict[str, Any]:
    created = await client.post(deck.shares, json=body, headers=deck.owner)
    assert created.status_code == 201, created.text
    share: dict[str, Any] = created.json()
    return share


async def _member(
    client: httpx.AsyncClient, runtime: Runtime, deck: Deck, email: str, role: Role
) -> dict[str, str]:
    headers = await bearer(client, email)
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.add(
            Membership(organization_id=uuid.UUID(deck.organization_id), user_id=user.id, role=role)
        )
    return headers


def _secured(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store", response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in response.headers["x-robots-tag"]


async def _backdate_views(runtime: Runtime, minutes: int) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(ShareView).values(created_at=utcnow() - timedelta(minutes=minutes))
        )


# -- links -----------------------------------------------------------------------------------


async def test_create_list_and_revoke_at_once(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    bare = await client.post(deck.shares, headers=deck.owner)  # no body: no expiry, no password
    assert bare.status_code == 201, bare.text
    share = bare.json()
    token = share["token"]
    assert TOKEN_SHAPE.fullmatch(token), token  # ≥ 43 URL-safe characters: 256 random bits
    assert share["url"] == f"https://present.example/share/{token}"
    assert (share["status"], share["has_password"], share["expires_at"]) == ("active", False, None)
    assert share["token_hint"] == token[-6:]
    assert share["views"] == 0
    assert share["created_by"] is not None

    others = [await make_share(client, deck) for _ in range(3)]
    assert len({token, *(other["token"] for other in others)}) == 4

    async with runtime.db.session() as session:
        row = await session.get(Share, uuid.UUID(share["id"]))
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.token_sealed is not None and token.encode() not in row.token_sealed

    listed = await client.get(deck.shares, headers=deck.owner)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [item["id"] for item in items][-1] == share["id"]  # newest first
    mine = next(item for item in items if item["id"] == share["id"])
    assert (mine["url"], mine["token"], mine["status"]) == (share["url"], token, "active")

    assert (await client.get(f"{API}/share/{token}")).status_code == 200
    revoked = await client.delete(f"{deck.shares}/{share['id']}", headers=deck.owner)
    assert revoked.status_code == 204, revoked.text
    gone = await client.get(f"{API}/share/{token}")
    error_of(gone, 404, "not_found")
    _secured(gone)
    page = await client.get(f"/share/{token}")
    assert page.status_code == 404
    assert "Ссылка не найдена" in page.text
    assert (
        await client.delete(f"{deck.shares}/{share['id']}", headers=deck.owner)
    ).status_code == 204

    listed = (await client.get(deck.shares, headers=deck.owner)).json()["items"]
    mine = next(item for item in listed if item["id"] == share["id"])
    assert (mine["status"], mine["url"], mine["token"]) == ("revoked", None, None)
    assert mine["revoked_at"] is not None

    async with runtime.db.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("share.created") == 4
    assert actions.count("share.revoked") == 1  # the second DELETE changed nothing


async def test_who_may_create_list_and_revoke(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    viewer = await _member(client, runtime, deck, "viewer@example.com", Role.VIEWER)
    share = await make_share(client, deck)
    error_of(await client.post(deck.shares, json={}, headers=viewer), 403, "insufficient_role")
    error_of(
        await client.delete(f"{deck.shares}/{share['id']}", headers=viewer),
        403,
        "insufficient_role",
    )
    listed = await client.get(deck.shares, headers=viewer)
    assert listed.status_code == 200 and listed.json()["items"][0]["token"] == share["token"]
    assert (await client.get(deck.analytics, headers=viewer)).status_code == 200

    stranger = await make_deck(client, runtime, "stranger@example.com")
    theirs = await make_share(client, stranger)
    for method, url in [
        ("POST", deck.shares),
        ("GET", deck.shares),
        ("DELETE", f"{deck.shares}/{share['id']}"),
        ("GET", deck.analytics),
    ]:
        error_of(await client.request(method, url, headers=stranger.owner), 404, "not_found")
    # A link of another presentation is not found under this one.
    error_of(
        await client.delete(f"{deck.shares}/{theirs['id']}", headers=deck.owner), 404, "not_found"
    )
    error_of(
        await client.delete(f"{deck.shares}/{uuid.uuid4()}", headers=deck.owner), 404, "not_found"
    )
    assert (await client.get(f"{API}/share/{theirs['token']}")).status_code == 200


async def test_expiry_and_password_are_validated(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    now = datetime.now(UTC)
    bad_bodies: list[Any] = [
        {"expires_at": (now - timedelta(minutes=1)).isoformat()},
        {"expires_at": (now + timedelta(days=400)).isoformat()},
        {"expires_at": "tomorrow"},
        {"expires_in_days": 0},
        {"expires_in_days": 366},
        {"expires_in_days": 2, "expires_at": (now + timedelta(days=1)).isoformat()},
        {"password": "short"},
        {"password": "x" * 129},
        {"password": 12345678},
        [],
    ]
    for body in bad_bodies:
        response = await client.post(deck.shares, json=body, headers=deck.owner)
        error_of(response, 422, "validation_error")
    malformed = await client.post(
        deck.shares,
        content=b"{not json",
        headers={**deck.owner, "Content-Type": "application/json"},
    )
    error_of(malformed, 400, "bad_request")
    not_json = await client.post(
        deck.shares, content=b"a=b", headers={**deck.owner, "Content-Type": "text/plain"}
    )
    error_of(not_json, 415, "unsupported_file_type")

    in_a_week = await make_share(client, deck, expires_in_days=7)
    expires = datetime.fromisoformat(in_a_week["expires_at"])
    assert abs(expires - (now + timedelta(days=7))) < timedelta(minutes=1)
    naive = (now + timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    as_utc = await make_share(client, deck, expires_at=naive.isoformat())
    assert datetime.fromisoformat(as_utc["expires_at"]) == naive.replace(tzinfo=UTC)


async def test_expired_link_is_gone(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck, expires_in_days=1)
    assert (await client.get(f"{API}/share/{share['token']}")).status_code == 200
    async with runtime.db.session() as session:
        await session.execute(
            update(Share)
            .where(Share.id == uuid.UUID(share["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    gone = await client.get(f"{API}/share/{share['token']}")
    error_of(gone, 410, "gone")
    _secured(gone)
    error_of(await client.post(f"{API}/share/{share['token']}/views"), 410, "gone")
    page = await client.get(f"/share/{share['token']}", headers={"Accept-Language": "en"})
    assert page.status_code == 410
    assert "This link has expired" in page.text
    _secured(page)
    ru = await client.get(f"/share/{share['token']}")
    assert "Срок действия ссылки истёк" in ru.text
    listed = (await client.get(deck.shares, headers=deck.owner)).json()["items"]
    assert (listed[0]["status"], listed[0]["url"]) == ("expired", None)


async def test_unknown_tokens_and_deleted_presentations_are_not_found(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    for token in ["x", "a" * 43, "a" * 300, "ссылка", "a b", "...", share["token"] + "!"]:
        for path in [f"{API}/share/{token}", f"{API}/share/{token}/views"]:
            method = "GET" if path.endswith(token) else "POST"
            response = await client.request(method, path)
            error_of(response, 404, "not_found")
            _secured(response)
        assert (await client.get(f"/share/{token}")).status_code == 404
    async with runtime.db.session() as session:
        await session.execute(
            update(Presentation)
            .where(Presentation.id == uuid.UUID(deck.presentation_id))
            .values(deleted_at=utcnow())
        )
    error_of(await client.get(f"{API}/share/{share['token']}"), 404, "not_found")
    assert (await client.get(f"/share/{share['token']}")).status_code == 404
    error_of(await client.get(deck.shares, headers=deck.owner), 404, "not_found")
    error_of(await client.post(deck.shares, headers=deck.owner), 404, "not_found")
    error_of(await client.get(deck.analytics, headers=deck.owner), 404, "not_found")


# -- the public deck -------------------------------------------------------------------------


async def test_public_deck_json(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    response = await client.get(f"{API}/share/{share['token']}")
    assert response.status_code == 200, response.text
    _secured(response)
    body = response.json()
    assert (body["title"], body["language"], body["slide_count"]) == ("Отчёт <Q3> & планы", "ru", 4)
    assert [s["slide_number"] for s in body["slides"]] == [1, 2, 3, 4]
    assert [s["title"] for s in body["slides"]] == [title for title, _, _ in SLIDES]
    assert [s["layout"] for s in body["slides"]] == ["title", "bullets", "two_columns", "closing"]
    assert body["slides"][1]["bullets"][0] == {
        "text": "Выручка выросла на 12%",
        "citation": "report.pdf, p. 3",
        "document": "report.pdf",
    }
    assert body["slides"][2]["bullets"][0] == {
        "text": "Новый рынок",
        "citation": None,
        "document": None,
    }
    for private in ["chunk-secret-42", "an excerpt", "private speaker notes", "document_id"]:
        assert private not in response.text
    assert deck.presentation_id not in response.text and deck.organization_id not in response.text


async def test_viewer_page(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    page = await client.get(f"/share/{share['token']}")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    _secured(page)
    csp = page.headers["content-security-policy"]
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ]:
        assert rule in csp
    assert "unsafe-inline" not in csp
    html = page.text
    assert "Отчёт &lt;Q3&gt; &amp; планы" in html and "<Q3>" not in html  # escaped
    assert html.count('class="slide ') == 4
    assert '<li value="1">report.pdf, p. 3</li><li value="2">report.pdf, p. 4</li>' in html
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP allows none
    sources = re.findall(r'(?:src|href|action)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    for asset in ["/share/assets/viewer.js", "/share/assets/viewer.css"]:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["x-content-type-options"] == "nosniff"
        again = await client.get(asset, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304
    assert (await client.get("/share/assets/nothing.js")).status_code == 404
    english = await client.get(f"/share/{uuid.uuid4().hex * 2}", headers={"Accept-Language": "en"})
    assert english.status_code == 404 and "Link not found" in english.text
    _secured(english)


# -- passwords -------------------------------------------------------------------------------


async def test_password_protected_link(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck, password=PASSWORD, expires_in_days=3)
    assert share["has_password"] is True
    async with runtime.db.session() as session:
        row = await session.get(Share, uuid.UUID(share["id"]))
        assert row is not None and row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
    base = f"{API}/share/{share['token']}"

    locked = await client.get(base)
    assert error_of(locked, 401, "unauthorized")["password_required"] is True
    _secured(locked)
    error_of(await client.post(f"{base}/views"), 401, "unauthorized")
    wrong = await client.post(f"{base}/unlock", json={"password": "not the password"})
    assert error_of(wrong, 401, "unauthorized")["password_required"] is True
    error_of(await client.post(f"{base}/unlock", json={}), 422, "validation_error")
    error_of(await client.post(f"{base}/unlock", content=b"{oops"), 400, "bad_request")

    unlocked = await client.post(f"{base}/unlock", json={"password": PASSWORD})
    assert unlocked.status_code == 200, unlocked.text
    _secured(unlocked)
    access = unlocked.json()
    assert access["token_type"] == "share" and access["expires_in"] == 3600
    headers = {"X-Share-Access": access["access_token"]}
    opened = await client.get(base, headers=headers)
    assert opened.status_code == 200 and opened.json()["slide_count"] == 4
    assert (await client.post(f"{base}/views", headers=headers)).status_code == 201
    error_of(await client.get(base, headers={"X-Share-Access": "forged"}), 401, "unauthorized")

    other = await make_share(client, deck, password="another password")
    error_of(
        await client.get(f"{API}/share/{other['token']}", headers=headers), 401, "unauthorized"
    )

    form = await client.get(f"/share/{share['token']}")
    assert form.status_code == 401
    assert 'type="password"' in form.text and 'method="post"' in form.text
    assert "Презентация защищена паролем" in form.text
    assert PASSWORD not in form.text
    bad = await client.post(f"/share/{share['token']}", data={"password": "nope-nope"})
    assert bad.status_code == 401 and "Неверный пароль" in bad.text
    good = await client.post(f"/share/{share['token']}", data={"password": PASSWORD})
    assert good.status_code == 200, good.text
    assert good.text.count('class="slide ') == 4
    access_in_page = re.search(r'data-access="([^"]+)"', good.text)
    assert access_in_page is not None
    started = await client.post(
        f"{base}/views", headers={"X-Share-Access": access_in_page.group(1)}
    )
    assert started.status_code == 201
    odd = await client.post(
        f"/share/{share['token']}",
        content=b"\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert odd.status_code == 400


@pytest.mark.parametrize(
    "settings_overrides", [{"presentai": {"share_password_failures": "3/minute"}}]
)
async def test_wrong_passwords_are_limited_per_link_and_ip(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck, password=PASSWORD)
    unlock = f"{API}/share/{share['token']}/unlock"
    for _ in range(3):
        wrong = await client.post(unlock, json={"password": "guess-guess"}, headers=VIEWER_A)
        error_of(wrong, 401, "unauthorized")
    limited = await client.post(unlock, json={"password": PASSWORD}, headers=VIEWER_A)
    body = error_of(limited, 429, "rate_limit_exceeded")
    assert int(limited.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
    _secured(limited)
    page = await client.post(
        f"/share/{share['token']}", data={"password": PASSWORD}, headers=VIEWER_A
    )
    assert page.status_code == 429 and "Слишком много неверных паролей" in page.text
    assert "retry-after" in page.headers
    # Another address, and another link from the same address, are not affected.
    assert (
        await client.post(unlock, json={"password": PASSWORD}, headers=VIEWER_B)
    ).status_code == 200
    other = await make_share(client, deck, password=PASSWORD)
    other_unlock = f"{API}/share/{other['token']}/unlock"
    assert (
        await client.post(other_unlock, json={"password": PASSWORD}, headers=VIEWER_A)
    ).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"presentai": {"share_rate_limit": "4/minute"}}])
async def test_public_routes_are_rate_limited(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    base = f"{API}/share/{share['token']}"
    assert (await client.get(base, headers=VIEWER_A)).status_code == 200
    assert (await client.get(f"/share/{share['token']}", headers=VIEWER_A)).status_code == 200
    assert (await client.post(f"{base}/views", headers=VIEWER_A)).status_code == 201
    assert (await client.get(f"{API}/share/{'z' * 43}", headers=VIEWER_A)).status_code == 404
    limited = await client.get(base, headers=VIEWER_A)
    body = error_of(limited, 429, "rate_limit_exceeded")
    assert body["retry_after"] >= 1 and int(limited.headers["retry-after"]) >= 1
    _secured(limited)
    page = await client.get(f"/share/{share['token']}", headers=VIEWER_A)
    assert page.status_code == 429 and "Слишком много запросов" in page.text
    assert "retry-after" in page.headers
    assert (await client.get(base, headers=VIEWER_B)).status_code == 200
    # Members' own API is not counted against the public limit.
    assert (await client.get(deck.shares, headers={**deck.owner, **VIEWER_A})).status_code == 200


# -- analytics -------------------------------------------------------------------------------


async def _view(client: httpx.AsyncClient, token: str, who: dict[str, str]) -> str:
    started = await client.post(f"{API}/share/{token}/views", headers=who)
    assert started.status_code == 201, started.text
    _secured(started)
    view_id: str = started.json()["view_id"]
    return view_id


async def _report(
    client: httpx.AsyncClient, token: str, view_id: str, dwell: Any, who: dict[str, str]
) -> dict[str, Any]:
    sent = await client.post(
        f"{API}/share/{token}/views/{view_id}", json={"dwell_ms": dwell}, headers=who
    )
    assert sent.status_code == 200, sent.text
    body: dict[str, Any] = sent.json()
    return body


async def test_analytics_counts_views_unique_viewers_and_dwell(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    first = await make_share(client, deck)
    second = await make_share(client, deck, password=PASSWORD)
    unlocked = await client.post(
        f"{API}/share/{second['token']}/unlock", json={"password": PASSWORD}, headers=VIEWER_B
    )
    access = {"X-Share-Access": unlocked.json()["access_token"]}
    a1 = await _view(client, first["token"], VIEWER_A)
    a2 = await _view(client, first["token"], VIEWER_A)  # the same person opens it again
    b1 = await _view(client, second["token"], {**VIEWER_B, **access})
    await _backdate_views(runtime, minutes=10)

    await _report(client, first["token"], a1, {"1": 4000, "2": 6000}, VIEWER_A)
    await _report(client, first["token"], a1, {"1": 5000, "2": 6000}, VIEWER_A)  # running totals
    await _report(client, first["token"], a1, {"1": 3000}, VIEWER_A)  # late: changes nothing
    await _report(client, first["token"], a2, {"1": 1000}, VIEWER_A)
    done = await _report(client, second["token"], b1, {"2": 2000, "3": 500}, VIEWER_B)
    assert (done["view_id"], done["total_ms"], done["dwell_ms"]) == (
        b1,
        2500,
        {"2": 2000, "3": 500},
    )

    report = await client.get(deck.analytics, headers=deck.owner)
    assert report.status_code == 200, report.text
    body = report.json()
    today = datetime.now(UTC).date()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=29)).isoformat()
    assert body["totals"] == {
        "views": 3,
        "unique_viewers": 2,
        "total_time_ms": 5000 + 6000 + 1000 + 2500,
        "avg_time_ms": (5000 + 6000 + 1000 + 2500) // 3,
    }
    assert len(body["daily"]) == 30
    assert body["daily"][-1] == {
        "day": today.isoformat(),
        "views": 3,
        "unique_viewers": 2,
        "total_time_ms": 14500,
    }
    assert all(day["views"] == 0 for day in body["daily"][:-1])
    assert body["slides"] == [
        {"slide_number": 1, "views": 2, "total_dwell_ms": 6000, "avg_dwell_ms": 3000},
        {"slide_number": 2, "views": 2, "total_dwell_ms": 8000, "avg_dwell_ms": 4000},
        {"slide_number": 3, "views": 1, "total_dwell_ms": 500, "avg_dwell_ms": 500},
        {"slide_number": 4, "views": 0, "total_dwell_ms": 0, "avg_dwell_ms": 0},
    ]
    per_share = {item["share_id"]: item for item in body["shares"]}
    assert (per_share[first["id"]]["views"], per_share[first["id"]]["unique_viewers"]) == (2, 1)
    assert per_share[first["id"]]["total_time_ms"] == 12000
    assert (per_share[second["id"]]["views"], per_share[second["id"]]["status"]) == (1, "active")

    listed = {
        item["id"]: item
        for item in (await client.get(deck.shares, headers=deck.owner)).json()["items"]
    }
    assert (listed[first["id"]]["views"], listed[first["id"]]["unique_viewers"]) == (2, 1)
    last_viewed = datetime.fromisoformat(listed[first["id"]]["last_viewed_at"])
    assert timedelta(0) <= datetime.now(UTC) - last_viewed < timedelta(minutes=1)
    assert listed[second["id"]]["views"] == 1

    async with runtime.db.session() as session:
        views = list(await session.scalars(select(ShareView)))
        salt = await session.scalar(select(AnalyticsSalt.salt))
    assert salt is not None
    expected = hmac.new(salt, b"203.0.113.10\nViewer A", hashlib.sha256).hexdigest()
    assert {view.viewer for view in views if view.id == uuid.UUID(a1)} == {expected}
    stored = " ".join(f"{view.viewer} {view.dwell_ms}" for view in views)
    assert "203.0.113" not in stored and "Viewer" not in stored  # no address, no user agent


async def test_dwell_reports_are_validated_and_capped(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    token = share["token"]
    began = time.monotonic()
    view = await _view(client, token, VIEWER_A)
    # A view that began a moment ago cannot have lasted an hour (a few seconds' slack).
    fresh = await _report(client, token, view, {"1": 3_600_000}, VIEWER_A)
    elapsed_ms = (time.monotonic() - began) * 1000
    assert 0 < fresh["total_ms"] <= elapsed_ms + SLACK_MS
    await _backdate_views(runtime, minutes=600)
    odd = await _report(
        client,
        token,
        view,
        {"2": -5, "3": "100", "4": True, "5": 1000, "0": 1000, "x": 1, "01": 10, "9999": 1},
        VIEWER_A,
    )
    assert odd["dwell_ms"] == {"1": fresh["total_ms"]}  # "01" is slide 1, below its total
    capped = await _report(client, token, view, {"2": 10**12}, VIEWER_A)
    assert capped["dwell_ms"]["2"] == 30 * 60_000  # at most 30 minutes per slide per report
    for minutes in (60, 90, 120, 150, 180, 210, 240, 270, 300):
        total = await _report(
            client, token, view, {str(n): minutes * 60_000 for n in (1, 2, 3, 4)}, VIEWER_A
        )
    assert total["total_ms"] == 4 * 3600_000  # at most 4 hours per view
    nan = await client.post(
        f"{API}/share/{token}/views/{view}",
        content=b'{"dwell_ms": {"1": NaN, "2": Infinity}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 200 and nan.json()["total_ms"] == 4 * 3600_000

    weird = await _report(client, token, view, {"\u00b2": 5, "\u0661": 5, "1" * 50: 5}, VIEWER_A)
    assert weird["total_ms"] == 4 * 3600_000
    for content in [b"{oops", b"[1, 2]", b'"text"', b"[" * 50_000, b"\xff\xfe"]:
        bad = await client.post(f"{API}/share/{token}/views/{view}", content=content)
        error_of(bad, 400, "bad_request")
        _secured(bad)
    empty = await client.post(f"{API}/share/{token}/views/{view}", content=b"")
    assert empty.status_code == 200  # nothing to add
    as_text = await client.post(
        f"{API}/share/{token}/views/{view}",
        content=b'{"dwell_ms": {}}',
        headers={"Content-Type": "text/plain"},
    )
    assert as_text.status_code == 200  # what sendBeacon may send
    error_of(await client.post(f"{API}/share/{token}/views/not-a-uuid", json={}), 404, "not_found")
    error_of(
        await client.post(f"{API}/share/{token}/views/{uuid.uuid4()}", json={}), 404, "not_found"
    )
    other = await make_share(client, deck)
    error_of(
        await client.post(f"{API}/share/{other['token']}/views/{view}", json={}), 404, "not_found"
    )
    await client.delete(f"{deck.shares}/{share['id']}", headers=deck.owner)
    error_of(await client.post(f"{API}/share/{token}/views/{view}", json={}), 404, "not_found")


async def test_analytics_period(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    async with runtime.db.session() as session:
        row = await session.get(Share, uuid.UUID(share["id"]))
        assert row is not None
        for day, viewer, total in [
            (date(2024, 3, 1), "a" * 64, 1000),
            (date(2024, 3, 1), "a" * 64, 2000),
            (date(2024, 3, 2), "a" * 64, 500),  # the same hash on another day: another salt
            (date(2024, 3, 9), "b" * 64, 700),
        ]:
            session.add(
                ShareView(
                    organization_id=row.organization_id,
                    presentation_id=row.presentation_id,
                    share_id=row.id,
                    day=day,
                    viewer=viewer,
                    dwell_ms={"1": total},
                    total_ms=total,
                )
            )
    period = await client.get(
        deck.analytics, params={"from": "2024-03-01", "to": "2024-03-02"}, headers=deck.owner
    )
    assert period.status_code == 200, period.text
    body = period.json()
    assert (body["from"], body["to"]) == ("2024-03-01", "2024-03-02")
    assert body["totals"] == {
        "views": 3,
        "unique_viewers": 2,
        "total_time_ms": 3500,
        "avg_time_ms": 1166,
    }
    assert [(d["day"], d["views"], d["unique_viewers"]) for d in body["daily"]] == [
        ("2024-03-01", 2, 1),
        ("2024-03-02", 1, 1),
    ]
    assert body["slides"][0] == {
        "slide_number": 1,
        "views": 3,
        "total_dwell_ms": 3500,
        "avg_dwell_ms": 1166,
    }
    for params in [
        {"from": "2024-03-05", "to": "2024-03-01"},
        {"from": "2020-01-01", "to": "2024-01-01"},
        {"from": "yesterday"},
        {"from": "2024-02-30"},
        {"to": "10000-01-01"},
    ]:
        response = await client.get(deck.analytics, params=params, headers=deck.owner)
        error_of(response, 422, "validation_error")
    earliest = await client.get(deck.analytics, params={"to": "0001-01-01"}, headers=deck.owner)
    assert earliest.status_code == 200 and earliest.json()["from"] == "0001-01-01"


async def test_old_salts_are_forgotten(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    today = datetime.now(UTC).date()
    async with runtime.db.session() as session:
        for days in (1, 2, 40):
            session.add(AnalyticsSalt(day=today - timedelta(days=days), salt=b"old" * 8))
    await _view(client, share["token"], VIEWER_A)
    await _view(client, share["token"], VIEWER_B)
    async with runtime.db.session() as session:
        salts = list(await session.scalars(select(AnalyticsSalt)))
        jobs = list(await session.scalars(select(Job).where(Job.name == FORGET_SALTS_JOB)))
    assert [salt.day for salt in salts] == [today]  # yesterday's hashes can never be recomputed
    assert len(salts[0].salt) == 32
    assert len(jobs) == 1  # queued once, with the day's salt
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert midnight <= jobs[0].run_at <= midnight + timedelta(minutes=5)

    # The job, for days without a single view: it keeps today's salt and forgets the rest.
    async with runtime.db.session() as session:
        session.add(AnalyticsSalt(day=today - timedelta(days=1), salt=b"old" * 8))
    result = await forget_salts_handler()({}, JobContext(uuid.uuid4(), 1, runtime.db))
    assert result == {"deleted": 1}
    async with runtime.db.session() as session:
        assert [salt.day for salt in await session.scalars(select(AnalyticsSalt))] == [today]


async def test_concurrent_reports_of_one_view_are_all_applied(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    share = await make_share(client, deck)
    view = await _view(client, share["token"], VIEWER_A)
    await _backdate_views(runtime, minutes=10)
    url = f"{API}/share/{share['token']}/views/{view}"
    reports = [{"dwell_ms": {"1": 1000 * n, "2": 500 * n}} for n in range(1, 21)]
    answers = await asyncio.gather(*(client.post(url, json=body) for body in reports))
    assert [answer.status_code for answer in answers] == [200] * 20, [a.text for a in answers]
    final = await client.post(url, json={})
    assert final.json()["dwell_ms"] == {"1": 20_000, "2": 10_000}


async def test_chart_and_table_slides_show_their_data(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await make_deck(client, runtime)
    source = {
        "citation": "sales.xlsx, Sales!A1:C4",
        "chunk_id": "chunk-secret-42",
        "excerpt": "an excerpt that must stay private",
    }
    chart = {
        "kind": "column",
        "categories": ["Москва", "Казань"],
        "series": [{"name": "Выручка", "values": [1250.5, 430.0]}],
    }
    table = {"columns": ["Регион", "Статус"], "rows": [["Москва", "<b>ok</b>"]]}
    async with runtime.db.session() as session:
        for position, (layout, data) in enumerate(
            [("chart", {"chart": chart}), ("table", {"table": table})], start=len(SLIDES) + 1
        ):
            session.add(
                Slide(
                    organization_id=uuid.UUID(deck.organization_id),
                    presentation_id=uuid.UUID(deck.presentation_id),
                    position=position,
                    title=layout,
                    layout=layout,
                    content={"bullets": [], "layout_data": {**data, "source": source}},
                    status="ready",
                    version=1,
                )
            )
    share = await make_share(client, deck)
    body = (await client.get(f"{API}/share/{share['token']}")).json()
    shown_chart, shown_table = body["slides"][-2:]
    assert shown_chart["chart"] == chart and shown_chart["data_source"] == source["citation"]
    assert shown_table["table"] == table
    page = await client.get(f"/share/{share['token']}")
    assert '<meter min="0" max="1250.5" value="1250.5"' in page.text
    assert "&lt;b&gt;ok&lt;/b&gt;" in page.text and "<b>ok</b>" not in page.text
    assert "sales.xlsx, Sales!A1:C4" in page.text
    for private in ("chunk-secret-42", "an excerpt"):
        assert private not in page.text and private not in json.dumps(body)
