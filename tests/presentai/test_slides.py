"""Slides: add, get, edit, delete, reorder, versions and restore (contract tests).

Presentations are made as rows; everything else goes through the API. Positions, versions and
audit entries are checked in the database too.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parmenid.identity.models import Membership, Role, User
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.presentations.models import Presentation
from parmenid.presentai.projects.models import Project
from parmenid.presentai.slides.models import Slide, SlideVersion
from parmenid.presentai.slides.versions import Author, write_slide
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of

API = "/api/v1"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


@dataclass
class Deck:
    organization_id: str
    presentation_id: str
    owner: dict[str, str]

    @property
    def slides(self) -> str:
        return f"{API}/presentations/{self.presentation_id}/slides"


async def _deck(
    client: httpx.AsyncClient, runtime: Runtime, email: str = "owner@example.com"
) -> Deck:
    owner = await bearer(client, email)
    created = await client.post(f"{API}/organizations", json={"name": "Acme"}, headers=owner)
    org_id = uuid.UUID(created.json()["id"])
    async with runtime.db.session() as session:
        project = Project(organization_id=org_id, name="P", search_text="p")
        session.add(project)
        await session.flush()
        presentation = Presentation(organization_id=org_id, project_id=project.id, title="Deck")
        session.add(presentation)
        await session.flush()
        return Deck(str(org_id), str(presentation.id), owner)


async def _add(client: httpx.AsyncClient, deck: Deck, **body: Any) -> dict[str, Any]:
    created = await client.post(deck.slides, json=body, headers=deck.owner)
    assert created.status_code == 201, created.text
    slide: dict[str, Any] = created.json()
    return slide


async def _titles(client: httpx.AsyncClient, deck: Deck) -> list[str]:
    listed = await client.get(deck.slides, headers=deck.owner)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [s["slide_number"] for s in items] == list(range(1, len(items) + 1))
    return [s["title"] for s in items]


async def _positions(runtime: Runtime, deck: Deck) -> list[int]:
    async with runtime.db.session() as session:
        found = await session.scalars(
            select(Slide.position)
            .where(Slide.presentation_id == uuid.UUID(deck.presentation_id))
            .order_by(Slide.position)
        )
        return list(found.all())


async def _set_status(runtime: Runtime, deck: Deck, status: str) -> None:
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
        assert presentation is not None
        presentation.status = status


async def _join(
    runtime: Runtime, client: httpx.AsyncClient, deck: Deck, email: str, role: Role
) -> dict[str, str]:
    headers = await bearer(client, email)
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.add(
            Membership(organization_id=uuid.UUID(deck.organization_id), user_id=user.id, role=role)
        )
    return headers


async def test_add_get_edit_delete_keep_positions_contiguous(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    bare = await client.post(deck.slides, headers=deck.owner)  # no body at all
    assert bare.status_code == 201, bare.text
    first = bare.json()
    assert (first["slide_number"], first["status"], first["version"]) == (1, "empty", 1)
    assert (first["title"], first["layout"], first["bullets"]) == ("", "bullets", [])
    assert bare.headers["etag"] == '"1"'
    assert bare.headers["location"].endswith(f"/api/v1/slides/{first['id']}")
    closing = await _add(client, deck, title="C", layout="closing", bullets=["Thanks"])
    assert (closing["slide_number"], closing["status"]) == (2, "ready")
    assert closing["bullets"] == [{"text": "Thanks", "attribution": None}]
    middle = await _add(client, deck, title="B", position=2)
    start = await _add(client, deck, title="Start", position=1, speaker_notes="Hello")
    assert (middle["slide_number"], start["slide_number"]) == (2, 1)
    assert await _titles(client, deck) == ["Start", "", "B", "C"]

    got = await client.get(f"{API}/slides/{middle['id']}", headers=deck.owner)
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    assert (got.json()["slide_number"], got.json()["title"]) == (3, "B")
    edited = await client.patch(
        f"{API}/slides/{middle['id']}",
        json={"title": "  Bee  ", "bullets": ["one", {"text": "two"}]},
        headers={**deck.owner, "If-Match": '"1"'},
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"2"'
    body = edited.json()
    assert (body["title"], body["version"], body["status"]) == ("Bee", 2, "ready")
    assert [b["text"] for b in body["bullets"]] == ["one", "two"]

    gone = await client.delete(f"{API}/slides/{first['id']}", headers=deck.owner)
    assert gone.status_code == 204
    error_of(await client.get(f"{API}/slides/{first['id']}", headers=deck.owner), 404, "not_found")
    assert await _titles(client, deck) == ["Start", "Bee", "C"]
    assert await _positions(runtime, deck) == [1, 2, 3]
    async with runtime.db.session() as session:
        left = await session.scalar(
            select(SlideVersion.id).where(SlideVersion.slide_id == uuid.UUID(first["id"]))
        )
        assert left is None  # its versions went with it
    beyond = await client.post(deck.slides, json={"position": 5}, headers=deck.owner)
    assert error_of(beyond, 422, "validation_error")["max_position"] == 4


async def test_versions_record_who_and_why_and_restore_makes_a_new_one(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    me = (await client.get(f"{API}/users/me", headers=deck.owner)).json()["id"]
    slide = await _add(client, deck, title="Intro", bullets=["One", "Two"], speaker_notes="hi")
    url = f"{API}/slides/{slide['id']}"
    assert (await client.patch(url, json={"bullets": ["One", "Three"]}, headers=deck.owner)).json()[
        "version"
    ] == 2
    same = await client.patch(
        url,
        json={"title": "Intro", "bullets": ["One", "Three"], "speaker_notes": "hi"},
        headers=deck.owner,
    )
    assert (same.status_code, same.json()["version"]) == (200, 2)  # nothing changed: no version
    layout = await client.patch(url, json={"layout": "two_columns"}, headers=deck.owner)
    assert layout.json()["version"] == 3

    versions = (await client.get(f"{url}/versions", headers=deck.owner)).json()
    assert [(v["version"], v["reason"]) for v in versions["items"]] == [
        (3, "edited"),
        (2, "edited"),
        (1, "created"),
    ]
    assert {(v["author_kind"], v["author_user_id"]) for v in versions["items"]} == {("user", me)}
    assert [b["text"] for b in versions["items"][2]["bullets"]] == ["One", "Two"]
    assert versions["next_cursor"] is None
    page = (await client.get(f"{url}/versions?limit=2", headers=deck.owner)).json()
    assert [v["version"] for v in page["items"]] == [3, 2]
    rest = await client.get(
        f"{url}/versions", params={"limit": 2, "cursor": page["next_cursor"]}, headers=deck.owner
    )
    assert ([v["version"] for v in rest.json()["items"]], rest.json()["next_cursor"]) == ([1], None)
    error_of(
        await client.get(f"{url}/versions?cursor=garbage", headers=deck.owner),
        422,
        "validation_error",
    )

    restored = await client.post(f"{url}/restore/1", headers=deck.owner)
    assert restored.status_code == 200, restored.text
    assert restored.headers["etag"] == '"4"'
    body = restored.json()
    assert (body["version"], body["layout"], body["speaker_notes"]) == (4, "bullets", "hi")
    assert [b["text"] for b in body["bullets"]] == ["One", "Two"]
    newest = (await client.get(f"{url}/versions?limit=1", headers=deck.owner)).json()["items"][0]
    assert (newest["version"], newest["reason"], newest["note"]) == (4, "restored", "from v1")
    assert newest["author_user_id"] == me
    error_of(await client.post(f"{url}/restore/99", headers=deck.owner), 404, "not_found")
    async with runtime.db.session() as session:
        stored = await session.get(Slide, uuid.UUID(slide["id"]))
        assert stored is not None
        assert (stored.version, stored.layout) == (4, "bullets")
        count = len(
            (
                await session.scalars(
                    select(SlideVersion).where(SlideVersion.slide_id == stored.id)
                )
            ).all()
        )
        assert count == 4


async def test_stale_versions_conflict(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    slide = await _add(client, deck, title="A")
    url = f"{API}/slides/{slide['id']}"
    ok = await client.patch(url, json={"title": "B"}, headers={**deck.owner, "If-Match": '"1"'})
    assert ok.status_code == 200
    stale = await client.patch(url, json={"title": "C"}, headers={**deck.owner, "If-Match": '"1"'})
    assert error_of(stale, 409, "conflict")["current_version"] == 2
    in_body = await client.patch(
        url, json={"title": "C", "expected_version": 1}, headers=deck.owner
    )
    assert error_of(in_body, 409, "conflict")["current_version"] == 2
    disagree = await client.patch(
        url, json={"title": "C", "expected_version": 1}, headers={**deck.owner, "If-Match": '"2"'}
    )
    error_of(disagree, 422, "validation_error")
    for bad in ("garbage", '"x"', '""'):
        refused = await client.patch(
            url, json={"title": "C"}, headers={**deck.owner, "If-Match": bad}
        )
        error_of(refused, 422, "validation_error")
    weak = await client.patch(url, json={"title": "C"}, headers={**deck.owner, "If-Match": 'W/"2"'})
    assert weak.json()["version"] == 3
    star = await client.patch(url, json={"title": "D"}, headers={**deck.owner, "If-Match": "*"})
    assert star.json()["version"] == 4
    for response in (
        await client.post(f"{url}/restore/1", headers={**deck.owner, "If-Match": '"3"'}),
        await client.delete(url, headers={**deck.owner, "If-Match": '"3"'}),
    ):
        assert error_of(response, 409, "conflict")["current_version"] == 4
    async with runtime.db.session() as session:
        stored = await session.get(Slide, uuid.UUID(slide["id"]))
        assert stored is not None and (stored.title, stored.version) == ("D", 4)


async def test_attributions_are_kept_only_when_sent_back(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    job_id = uuid.uuid4()
    attribution = {
        "document_id": str(uuid.uuid4()),
        "document": "report.pdf",
        "chunk_id": "c1",
        "location": {"page": 3},
        "citation": "report.pdf, p. 3",
        "excerpt": "Revenue grew 12%.",
    }
    async with runtime.db.session() as session:
        presentation_id = uuid.UUID(deck.presentation_id)
        slide = Slide(
            organization_id=uuid.UUID(deck.organization_id),
            presentation_id=presentation_id,
            position=1,
            title="Results",
            status="ready",
            content={"bullets": [{"text": "Revenue grew 12%", "attribution": attribution}]},
        )
        write_slide(session, slide, author=Author.job(job_id), reason="generated")
        session.add(slide)
        await session.flush()
        slide_id = str(slide.id)
    url = f"{API}/slides/{slide_id}"
    received = (await client.get(url, headers=deck.owner)).json()["bullets"]
    assert received[0]["attribution"]["citation"] == "report.pdf, p. 3"

    sent_back = await client.patch(
        url, json={"bullets": [*received, "A person's point"]}, headers=deck.owner
    )
    assert sent_back.status_code == 200, sent_back.text
    bullets = sent_back.json()["bullets"]
    assert bullets[0]["attribution"] == received[0]["attribution"]
    assert bullets[1] == {"text": "A person's point", "attribution": None}

    forged = {**received[0], "attribution": {**received[0]["attribution"], "chunk_id": "nope"}}
    refused = error_of(
        await client.patch(url, json={"bullets": [forged]}, headers=deck.owner),
        422,
        "validation_error",
    )
    assert refused["details"][0]["field"] == "bullets.0.attribution"
    tampered = {
        **received[0],
        "attribution": {**received[0]["attribution"], "excerpt": "Revenue grew 90%."},
    }
    kept = await client.patch(url, json={"bullets": [tampered]}, headers=deck.owner)
    assert kept.json()["bullets"][0]["attribution"]["excerpt"] == "Revenue grew 12%."  # stored one
    plain = await client.patch(url, json={"bullets": ["Revenue grew 12%"]}, headers=deck.owner)
    assert plain.json()["bullets"] == [{"text": "Revenue grew 12%", "attribution": None}]
    versions = (await client.get(f"{url}/versions", headers=deck.owner)).json()["items"]
    assert [(v["reason"], v["author_kind"]) for v in versions][-1] == ("generated", "job")
    assert versions[-1]["job_id"] == str(job_id)


async def test_reorder(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    a, b, c = [(await _add(client, deck, title=t))["id"] for t in "ABC"]
    reorder = f"{deck.slides}/reorder"
    listed = (await client.get(deck.slides, headers=deck.owner)).json()
    moved = await client.post(reorder, json={"slide_ids": [c, a, b]}, headers=deck.owner)
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert [(s["title"], s["slide_number"]) for s in body["items"]] == [
        ("C", 1),
        ("A", 2),
        ("B", 3),
    ]
    assert body["order_token"] != listed["order_token"]
    assert await _titles(client, deck) == ["C", "A", "B"]
    assert await _positions(runtime, deck) == [1, 2, 3]

    dupes = await client.post(reorder, json={"slide_ids": [a, a, b]}, headers=deck.owner)
    error_of(dupes, 422, "validation_error")
    missing = await client.post(reorder, json={"slide_ids": [a, b]}, headers=deck.owner)
    conflict = error_of(missing, 409, "conflict")
    assert (conflict["current_order"], conflict["missing"]) == ([c, a, b], [c])
    unknown = str(uuid.uuid4())
    extra = await client.post(reorder, json={"slide_ids": [a, b, c, unknown]}, headers=deck.owner)
    assert error_of(extra, 409, "conflict")["unknown"] == [unknown]

    # Someone adds a slide after we loaded the list: our (stale) set is refused.
    d = (await _add(client, deck, title="D"))["id"]
    stale = await client.post(reorder, json={"slide_ids": [a, b, c]}, headers=deck.owner)
    assert error_of(stale, 409, "conflict")["current_order"] == [c, a, b, d]
    # Someone reorders after we loaded the list: If-Match with the old token refuses ours.
    token = body["order_token"]  # before D was added
    guarded = await client.post(
        reorder, json={"slide_ids": [d, c, b, a]}, headers={**deck.owner, "If-Match": f'"{token}"'}
    )
    current = error_of(guarded, 409, "conflict")["order_token"]
    fresh = await client.post(
        reorder,
        json={"slide_ids": [d, c, b, a]},
        headers={**deck.owner, "If-Match": f'"{current}"'},
    )
    assert fresh.status_code == 200
    assert await _titles(client, deck) == ["D", "C", "B", "A"]
    log = await client.get(
        f"{API}/organizations/{deck.organization_id}/audit-logs", headers=deck.owner
    )
    actions = [e["action"] for e in log.json()["items"]]
    assert actions.count("slides.reordered") == 2
    assert actions.count("slide.created") == 4


async def test_concurrent_writes_leave_positions_one_to_n(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    ids = [(await _add(client, deck, title=str(n)))["id"] for n in range(6)]
    reorder = f"{deck.slides}/reorder"
    first, second = list(reversed(ids)), ids[3:] + ids[:3]
    answers = await asyncio.gather(
        client.post(reorder, json={"slide_ids": first}, headers=deck.owner),
        client.post(reorder, json={"slide_ids": second}, headers=deck.owner),
    )
    assert [a.status_code for a in answers] == [200, 200]
    final = [s["id"] for s in (await client.get(deck.slides, headers=deck.owner)).json()["items"]]
    assert final in (first, second)
    assert await _positions(runtime, deck) == [1, 2, 3, 4, 5, 6]

    # Adds, a delete and a reorder at once: every answer is a success or a clean conflict.
    answers = await asyncio.gather(
        client.post(deck.slides, json={"title": "x1", "position": 1}, headers=deck.owner),
        client.post(reorder, json={"slide_ids": ids}, headers=deck.owner),
        client.post(deck.slides, json={"title": "x2"}, headers=deck.owner),
        client.delete(f"{API}/slides/{ids[2]}", headers=deck.owner),
        client.post(deck.slides, json={"title": "x3", "position": 2}, headers=deck.owner),
    )
    assert {a.status_code for a in answers} <= {200, 201, 204, 409}, [a.text for a in answers]
    assert [a.status_code for a in answers].count(201) == 3
    assert await _positions(runtime, deck) == list(range(1, 9))
    titles = await _titles(client, deck)
    assert sorted(titles) == sorted(["0", "1", "3", "4", "5", "x1", "x2", "x3"])


async def test_writes_while_generating_conflict(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    slide = await _add(client, deck, title="A")
    other = await _add(client, deck, title="B")
    url = f"{API}/slides/{slide['id']}"
    await _set_status(runtime, deck, "slides_generating")
    for response in (
        await client.post(deck.slides, json={"title": "C"}, headers=deck.owner),
        await client.patch(url, json={"title": "Z"}, headers=deck.owner),
        await client.delete(url, headers=deck.owner),
        await client.post(f"{url}/restore/1", headers=deck.owner),
        await client.post(
            f"{deck.slides}/reorder",
            json={"slide_ids": [other["id"], slide["id"]]},
            headers=deck.owner,
        ),
    ):
        body = error_of(response, 409, "conflict")
        assert body["presentation_status"] == "slides_generating"
        assert "generat" in body["message"]
    for read in (url, f"{url}/versions", deck.slides):
        assert (await client.get(read, headers=deck.owner)).status_code == 200
    assert await _titles(client, deck) == ["A", "B"]

    # One slide being regenerated: that slide is locked, the others are not.
    await _set_status(runtime, deck, "ready")
    async with runtime.db.session() as session:
        session.add(
            GenerationJob(
                organization_id=uuid.UUID(deck.organization_id),
                presentation_id=uuid.UUID(deck.presentation_id),
                slide_id=uuid.UUID(slide["id"]),
                kind="slide",
                status="running",
            )
        )
    error_of(await client.patch(url, json={"title": "Z"}, headers=deck.owner), 409, "conflict")
    other_url = f"{API}/slides/{other['id']}"
    assert (
        await client.patch(other_url, json={"title": "Y"}, headers=deck.owner)
    ).status_code == 200


async def test_roles_keys_and_other_organizations(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    slide = await _add(client, deck, title="A")
    url = f"{API}/slides/{slide['id']}"
    viewer = await _join(runtime, client, deck, "viewer@example.com", Role.VIEWER)
    assert (await client.get(url, headers=viewer)).status_code == 200
    assert (await client.get(f"{url}/versions", headers=viewer)).status_code == 200
    for response in (
        await client.patch(url, json={"title": "x"}, headers=viewer),
        await client.post(deck.slides, json={}, headers=viewer),
        await client.delete(url, headers=viewer),
        await client.post(f"{url}/restore/1", headers=viewer),
    ):
        body = error_of(response, 403, "insufficient_role")
        assert (body["required"], body["current"]) == ("editor", "viewer")

    stranger = await _deck(client, runtime, "stranger@example.com")
    for response in (
        await client.get(url, headers=stranger.owner),
        await client.patch(url, json={"title": "x"}, headers=stranger.owner),
        await client.get(deck.slides, headers=stranger.owner),
        await client.post(deck.slides, json={}, headers=stranger.owner),
    ):
        error_of(response, 404, "not_found")

    async def key(scopes: list[str]) -> dict[str, str]:
        created = await client.post(
            f"{API}/api-keys",
            json={"organization_id": deck.organization_id, "name": "k", "scopes": scopes},
            headers=deck.owner,
        )
        assert created.status_code == 201, created.text
        return {"X-API-Key": created.json()["key"], "id": created.json()["id"]}

    writer = await key(["presentations:read", "presentations:write"])
    reader = await key(["presentations:read"])
    writer_id = writer.pop("id")
    reader.pop("id")
    edited = await client.patch(url, json={"title": "By key"}, headers=writer)
    assert edited.status_code == 200, edited.text
    newest = (await client.get(f"{url}/versions", headers=reader)).json()["items"][0]
    assert (newest["author_kind"], newest["author_key_id"], newest["author_user_id"]) == (
        "api_key",
        writer_id,
        None,
    )
    error_of(
        await client.patch(url, json={"title": "x"}, headers=reader), 403, "insufficient_scope"
    )

    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
        assert presentation is not None
        presentation.deleted_at = presentation.created_at
    for response in (
        await client.get(url, headers=deck.owner),
        await client.get(deck.slides, headers=deck.owner),
        await client.post(deck.slides, json={}, headers=deck.owner),
        await client.post(f"{deck.slides}/reorder", json={"slide_ids": []}, headers=deck.owner),
    ):
        error_of(response, 404, "not_found")


async def test_bad_input_is_a_validation_error(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    slide = await _add(client, deck, title="A")
    url = f"{API}/slides/{slide['id']}"
    for response in (
        await client.get(f"{API}/slides/not-a-uuid", headers=deck.owner),
        await client.get(f"{API}/presentations/not-a-uuid/slides", headers=deck.owner),
        await client.patch(url, json={"layout": "spiral"}, headers=deck.owner),
        await client.patch(url, json={"bullets": ["b"] * 31}, headers=deck.owner),
        await client.patch(url, json={"bullets": ["   "]}, headers=deck.owner),
        await client.patch(url, json={"bullets": [{"text": "x" * 1001}]}, headers=deck.owner),
        await client.patch(url, json={"title": "x" * 301}, headers=deck.owner),
        await client.patch(url, json={"speaker_notes": "x" * 10_001}, headers=deck.owner),
        await client.patch(url, json={"bullets": "not a list"}, headers=deck.owner),
        await client.post(deck.slides, json={"position": 0}, headers=deck.owner),
        await client.post(f"{url}/restore/abc", headers=deck.owner),
        await client.post(f"{url}/restore/0", headers=deck.owner),
        await client.post(f"{url}/restore/99999999999", headers=deck.owner),
        await client.post(f"{deck.slides}/reorder", json={"slide_ids": ["x"]}, headers=deck.owner),
        await client.post(f"{deck.slides}/reorder", json={}, headers=deck.owner),
        await client.get(f"{url}/versions?limit=0", headers=deck.owner),
    ):
        error_of(response, 422, "validation_error")
    async with runtime.db.session() as session:
        for position in range(2, 101):
            session.add(
                Slide(
                    organization_id=uuid.UUID(deck.organization_id),
                    presentation_id=uuid.UUID(deck.presentation_id),
                    position=position,
                    title=f"S{position}",
                )
            )
    full = await client.post(deck.slides, json={"title": "101st"}, headers=deck.owner)
    assert error_of(full, 422, "validation_error")["max_slides"] == 100


async def test_audit_entries_and_search_text(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    client = presentai_client
    deck = await _deck(client, runtime)
    slide = await _add(client, deck, title="Straße", bullets=["Überblick"])
    other = await _add(client, deck, title="Zweite")
    url = f"{API}/slides/{slide['id']}"
    await client.patch(url, json={"bullets": ["Ergebnis QUARTAL"]}, headers=deck.owner)
    await client.post(f"{url}/restore/2", headers=deck.owner)
    await client.post(
        f"{deck.slides}/reorder", json={"slide_ids": [other["id"], slide["id"]]}, headers=deck.owner
    )
    await client.delete(f"{API}/slides/{other['id']}", headers=deck.owner)
    log = await client.get(
        f"{API}/organizations/{deck.organization_id}/audit-logs", headers=deck.owner
    )
    entries = {e["action"]: e for e in log.json()["items"]}
    for action in (
        "slide.created",
        "slide.updated",
        "slide.restored",
        "slides.reordered",
        "slide.deleted",
    ):
        assert action in entries, action
    assert entries["slide.deleted"]["target"]["id"] == other["id"]
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(deck.presentation_id))
        assert presentation is not None
        assert "strasse" in presentation.search_text
        assert "ergebnis quartal" in presentation.search_text
        assert "zweite" not in presentation.search_text
