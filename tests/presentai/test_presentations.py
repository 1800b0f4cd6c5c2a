"""`/presentations`: create, list (filters, search, sorts, cursor pages), read with slides,
change, soft delete / restore / purge, duplicate; and erasing an organization that has them."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from parmenid.core.db import utcnow
from parmenid.core.jobs import Job
from parmenid.knowledge.ingestion import DELETE_JOB
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.presentations.purge import PURGE_JOB
from parmenid.presentai.presentations.service import refresh_search_text
from parmenid.presentai.slides.models import Slide, SlideVersion
from parmenid.presentai.slides.versions import Author, write_slide
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.helpers import PASSWORD, bearer, error_of

API = "/api/v1"
P = f"{API}/presentations"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


async def make_org(client: httpx.AsyncClient, headers: dict[str, str], name: str = "Acme") -> str:
    created = await client.post(f"{API}/organizations", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    org_id: str = created.json()["id"]
    return org_id


async def owner_with_project(client: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """A signed-in owner of a new organization with one project: headers, org id, project id."""
    owner = await bearer(client, "owner@example.com")
    org_id = await make_org(client, owner)
    return owner, org_id, await make_project(client, owner, org_id)


async def make_project(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, name: str = "Q3"
) -> str:
    created = await client.post(
        f"{API}/projects", json={"organization_id": org_id, "name": name}, headers=headers
    )
    assert created.status_code == 201, created.text
    project_id: str = created.json()["id"]
    return project_id


async def make_presentation(
    client: httpx.AsyncClient, headers: dict[str, str], project_id: str, title: str, **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        P, json={"project_id": project_id, "title": title, **extra}, headers=headers
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def add_member(
    client: httpx.AsyncClient, owner: dict[str, str], org_id: str, email: str, role: str
) -> dict[str, str]:
    headers = await bearer(client, email)
    invite = await client.post(
        f"{API}/organizations/{org_id}/members/invite",
        json={"email": email, "role": role},
        headers=owner,
    )
    accepted = await client.post(
        f"{API}/invitations/accept", json={"token": invite.json()["token"]}, headers=headers
    )
    assert accepted.status_code == 200, accepted.text
    return headers


async def set_columns(runtime: Runtime, presentation_id: str, **values: Any) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(Presentation)
            .where(Presentation.id == uuid.UUID(presentation_id))
            .values(**values)
        )


async def link_document(
    runtime: Runtime, org_id: str, presentation_ids: list[str], name: str = "a.txt", **extra: Any
) -> uuid.UUID:
    """A source document (not stored, not indexed) used by the presentations."""
    async with runtime.db.session() as session:
        document = SourceDocument(
            organization_id=uuid.UUID(org_id),
            filename=name,
            sha256="0" * 64,
            storage_key=f"documents/{org_id}/{name}",
            **extra,
        )
        session.add(document)
        await session.flush()
        for presentation_id in presentation_ids:
            session.add(
                PresentationSource(
                    organization_id=document.organization_id,
                    presentation_id=uuid.UUID(presentation_id),
                    document_id=document.id,
                )
            )
        return document.id


async def add_job(runtime: Runtime, presentation_id: str, kind: str, status: str) -> uuid.UUID:
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(presentation_id))
        assert presentation is not None
        job = GenerationJob(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            kind=kind,
            status=status,
            progress_pct=100 if status == "succeeded" else 0,
        )
        session.add(job)
        await session.flush()
        return job.id


async def add_slides(runtime: Runtime, presentation_id: str, *titles: str) -> list[str]:
    """Slides with one bullet each, in order; the first one has three versions."""
    ids: list[str] = []
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, uuid.UUID(presentation_id))
        assert presentation is not None
        for position, title in enumerate(titles, start=1):
            slide = Slide(
                organization_id=presentation.organization_id,
                presentation_id=presentation.id,
                position=position,
                status="ready",
            )
            content = {"bullets": [{"text": f"{title}: bullet", "attribution": None}]}
            write_slide(
                session,
                slide,
                author=Author("job"),
                reason="generated",
                title=title,
                content=content,
            )
            session.add(slide)
            if position == 1:
                write_slide(
                    session, slide, author=Author("job"), reason="edited", title=title + "!"
                )
                write_slide(session, slide, author=Author("job"), reason="edited", title=title)
            ids.append(str(slide.id))
    return ids


async def test_create_validates_and_reads_back(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    created = await make_presentation(presentai_client, owner, project_id, "  Итоги Q3  ")
    assert created["title"] == "Итоги Q3"
    assert created["organization_id"] == org_id and created["project_id"] == project_id
    assert (created["status"], created["slide_count"], created["language"]) == ("draft", 10, "ru")
    assert (created["tone"], created["audience"], created["brand_kit_id"]) == (None, None, None)
    assert (created["slides"], created["sources"], created["outline"]) == ([], [], None)
    assert (created["warnings"], created["current_job"], created["deleted_at"]) == ([], None, None)
    kit = (
        await presentai_client.post(
            f"{API}/brand-kits", json={"organization_id": org_id, "name": "Kit"}, headers=owner
        )
    ).json()["id"]  # a presentation may name only a brand kit of its organization
    full = await make_presentation(
        presentai_client,
        owner,
        project_id,
        "Sales",
        organization_id=org_id,
        tone="formal",
        audience="Board",
        slide_count=50,
        language="en-GB",
        brand_kit_id=kit,
    )
    assert (full["tone"], full["audience"], full["slide_count"]) == ("formal", "Board", 50)
    assert (full["language"], full["brand_kit_id"]) == ("en-gb", kit)
    async with runtime.db.session() as session:
        row = await session.get(Presentation, uuid.UUID(full["id"]))
        assert row is not None and row.parameters == {
            "tone": "formal",
            "audience": "Board",
            "slide_count": 50,
            "language": "en-gb",
            "brand_kit_id": kit,
        }
        assert row.created_by_id is not None and row.search_text == "sales"
    got = await presentai_client.get(f"{P}/{full['id']}", headers=owner)
    assert got.status_code == 200 and got.json() == full

    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"project_id": project_id, "title": "x", "slide_count": 0}, "slide_count"),
        ({"project_id": project_id, "title": "x", "slide_count": 51}, "slide_count"),
        ({"project_id": project_id, "title": "x", "slide_count": "many"}, "slide_count"),
        ({"project_id": project_id, "title": "   "}, "title"),
        ({"project_id": project_id, "title": "x" * 301}, "title"),
        ({"project_id": project_id}, "title"),
        ({"project_id": project_id, "title": "x", "language": "русский"}, "language"),
        ({"project_id": project_id, "title": "x", "brand_kit_id": "kit-1"}, "brand_kit_id"),
        ({"project_id": project_id, "title": "x", "tone": "t" * 101}, "tone"),
        ({"project_id": "not-a-uuid", "title": "x"}, "project_id"),
        ({"title": "x"}, "project_id"),
        ({"organization_id": "nope", "project_id": project_id, "title": "x"}, "organization_id"),
    ]
    for body, field in bad_bodies:
        refused = error_of(
            await presentai_client.post(P, json=body, headers=owner), 422, "validation_error"
        )
        assert field in str(refused), (body, refused)
    error_of(
        await presentai_client.post(P, content=b"[1, 2]", headers=owner | _json),
        422,
        "validation_error",
    )


_json = {"Content-Type": "application/json"}


async def test_create_in_other_or_archived_projects(presentai_client: httpx.AsyncClient) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    stranger = await bearer(presentai_client, "stranger@example.com")
    other_org = await make_org(presentai_client, stranger, "Other")
    other_project = await make_project(presentai_client, stranger, other_org)
    for body in (
        {"project_id": other_project, "title": "x"},
        {"organization_id": org_id, "project_id": other_project, "title": "x"},
        {"organization_id": org_id, "project_id": str(uuid.uuid4()), "title": "x"},
        {"project_id": str(uuid.uuid4()), "title": "x"},
    ):
        error_of(await presentai_client.post(P, json=body, headers=owner), 404, "not_found")
    error_of(
        await presentai_client.post(
            P,
            json={"organization_id": other_org, "project_id": other_project, "title": "x"},
            headers=owner,
        ),
        404,
        "not_found",
    )
    await presentai_client.patch(
        f"{API}/projects/{project_id}", json={"archived": True}, headers=owner
    )
    archived = error_of(
        await presentai_client.post(
            P, json={"project_id": project_id, "title": "x"}, headers=owner
        ),
        409,
        "conflict",
    )
    assert "archived" in archived["message"] and archived["project_id"] == project_id


async def test_details_hold_slides_sources_outline_and_job(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    slides = await add_slides(runtime, deck["id"], "Intro", "Numbers", "Close")
    outline = {"items": [{"slide_number": 1, "title": "Intro", "key_points": []}]}
    warning = {"code": "index_unavailable", "message": "no index", "at": "2026-01-01T00:00:00Z"}
    job_id = await add_job(runtime, deck["id"], "slides", "succeeded")
    document_id = await link_document(
        runtime,
        org_id,
        [deck["id"]],
        "report.pdf",
        kind="pdf",
        ingestion_status="indexed",
        chunks_created=7,
    )
    await set_columns(
        runtime, deck["id"], outline=outline, warnings={"items": [warning]}, current_job_id=job_id
    )
    got = (await presentai_client.get(f"{P}/{deck['id']}", headers=owner)).json()
    assert [s["id"] for s in got["slides"]] == slides
    assert [s["slide_number"] for s in got["slides"]] == [1, 2, 3]
    assert got["slides"][0]["version"] == 3 and got["slides"][1]["bullets"][0]["text"] == (
        "Numbers: bullet"
    )
    assert (got["slides_count"], got["sources_count"]) == (3, 1)
    assert got["outline"] == outline["items"] and got["warnings"] == [warning]
    assert got["current_job"] == {
        "id": str(job_id),
        "kind": "slides",
        "status": "succeeded",
        "progress_pct": 100,
        "error_code": None,
        "error_message": None,
    }
    source = got["sources"][0]
    assert (source["filename"], source["kind"], source["ingestion_status"]) == (
        "report.pdf",
        "pdf",
        "indexed",
    )
    assert source["chunks_created"] == 7 and source["document_id"] == str(document_id)
    error_of(await presentai_client.get(f"{P}/{uuid.uuid4()}", headers=owner), 404, "not_found")
    error_of(await presentai_client.get(f"{P}/not-a-uuid", headers=owner), 422, "validation_error")


async def _walk(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]
) -> list[str]:
    """Every title, page by page (2 a page)."""
    titles: list[str] = []
    cursor = None
    for _ in range(20):
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(P, params=query, headers=headers)
        assert page.status_code == 200, page.text
        titles += [item["title"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return titles
    raise AssertionError("the pages never ended")


async def test_list_filters_search_sorts_and_cursors(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    editor = await add_member(presentai_client, owner, org_id, "editor@example.com", "editor")
    first, second = (
        await make_project(presentai_client, owner, org_id, "A"),
        await make_project(presentai_client, owner, org_id, "B"),
    )
    titles = ["Delta", "Alpha", "Echo", "Bravo", "Charlie"]
    decks = {t: await make_presentation(presentai_client, owner, first, t) for t in titles}
    decks["Foxtrot"] = await make_presentation(presentai_client, editor, second, "Foxtrot")
    await set_columns(runtime, decks["Alpha"]["id"], status="ready")
    await set_columns(runtime, decks["Echo"]["id"], status="failed")
    await add_slides(runtime, decks["Bravo"]["id"], "Выручка выросла")
    async with runtime.db.session() as session:
        bravo = await session.get(Presentation, uuid.UUID(decks["Bravo"]["id"]))
        assert bravo is not None
        await refresh_search_text(session, bravo)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n, title in enumerate([*titles, "Foxtrot"]):  # last: any update bumps updated_at
        await set_columns(
            runtime,
            decks[title]["id"],
            created_at=base + timedelta(days=n),
            updated_at=base + timedelta(days=10 - n),
        )
    org = {"organization_id": org_id}

    async def titles_of(**params: Any) -> list[str]:
        got = await presentai_client.get(P, params={**org, **params}, headers=owner)
        assert got.status_code == 200, got.text
        return [item["title"] for item in got.json()["items"]]

    assert await titles_of() == ["Foxtrot", "Charlie", "Bravo", "Echo", "Alpha", "Delta"]
    assert await titles_of(status="ready,failed") == ["Echo", "Alpha"]
    assert await titles_of(status=["ready", "draft"], project_id=first) == [
        "Charlie",
        "Bravo",
        "Alpha",
        "Delta",
    ]
    editor_id = (await presentai_client.get(f"{API}/users/me", headers=editor)).json()["id"]
    assert await titles_of(author_id=editor_id) == ["Foxtrot"]
    assert await titles_of(
        created_from="2026-01-02T00:00:00Z", created_to="2026-01-04T00:00:00+00:00"
    ) == ["Bravo", "Echo", "Alpha"]
    assert await titles_of(created_from="2026-01-05T00:00:00") == ["Foxtrot", "Charlie"]
    assert await titles_of(q="ВЫРУЧКА") == ["Bravo"]  # slide text, case-folded
    assert await titles_of(q="alp") == ["Alpha"]
    assert await titles_of(q="%") == []
    listed = (await presentai_client.get(P, params=org, headers=owner)).json()["items"]
    bravo_item = next(item for item in listed if item["title"] == "Bravo")
    assert (bravo_item["slides_count"], bravo_item["sources_count"]) == (1, 0)
    assert "slides" not in bravo_item

    alphabet = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    assert await _walk(presentai_client, owner, {**org, "sort": "title", "order": "asc"}) == (
        alphabet
    )
    assert await _walk(presentai_client, owner, {**org, "sort": "title"}) == alphabet[::-1]
    created = [*titles, "Foxtrot"]
    assert await _walk(presentai_client, owner, {**org, "order": "asc"}) == created
    assert await _walk(presentai_client, owner, org) == created[::-1]
    assert await _walk(presentai_client, owner, {**org, "sort": "updated_at"}) == created
    assert (
        await _walk(presentai_client, owner, {**org, "sort": "updated_at", "order": "asc"})
        == created[::-1]
    )
    # Equal sort values: the id breaks the tie, each item appears once.
    for title in titles:
        await set_columns(runtime, decks[title]["id"], created_at=base, title="Same")
    same = await _walk(presentai_client, owner, {**org, "order": "asc"})
    assert same == ["Same"] * 5 + ["Foxtrot"]

    first_page = await presentai_client.get(
        P, params={**org, "limit": 2, "sort": "title"}, headers=owner
    )
    cursor = first_page.json()["next_cursor"]
    for params in ({"sort": "created_at"}, {"sort": "title", "order": "asc"}):
        refused = await presentai_client.get(
            P, params={**org, **params, "cursor": cursor}, headers=owner
        )
        error_of(refused, 422, "validation_error")
    for bad in (
        {"cursor": "garbage"},
        {"status": "published"},
        {"sort": "author"},
        {"order": "up"},
        {"created_from": "yesterday"},
        {"created_to": "2026-13-01"},
        {"limit": 0},
        {"limit": 101},
        {"project_id": "x"},
        {"q": "x" * 201},
    ):
        error_of(
            await presentai_client.get(P, params={**org, **bad}, headers=owner),
            422,
            "validation_error",
        )
    error_of(await presentai_client.get(P, headers=owner), 422, "validation_error")


async def test_update_moves_and_is_refused_while_generating(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    target = await make_project(presentai_client, owner, org_id, "Target")
    deck = await make_presentation(presentai_client, owner, project_id, "Deck", tone="formal")
    url = f"{P}/{deck['id']}"
    changed = await presentai_client.patch(
        url,
        json={
            "title": "Отчёт",
            "tone": None,
            "audience": "Investors",
            "slide_count": 12,
            "language": "en",
            "project_id": target,
        },
        headers=owner,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["title"], body["tone"], body["audience"]) == ("Отчёт", None, "Investors")
    assert (body["slide_count"], body["language"], body["project_id"]) == (12, "en", target)
    async with runtime.db.session() as session:
        row = await session.get(Presentation, uuid.UUID(deck["id"]))
        assert row is not None and row.search_text == "отчёт"
        assert row.parameters["tone"] is None and row.parameters["slide_count"] == 12
    untouched = await presentai_client.patch(url, json={}, headers=owner)
    assert untouched.json()["title"] == "Отчёт"
    for bad in ({"title": None}, {"slide_count": None}, {"slide_count": 99}, {"title": ""}):
        error_of(
            await presentai_client.patch(url, json=bad, headers=owner), 422, "validation_error"
        )
    stranger = await bearer(presentai_client, "stranger@example.com")
    other_project = await make_project(
        presentai_client, stranger, await make_org(presentai_client, stranger), "X"
    )
    error_of(
        await presentai_client.patch(url, json={"project_id": other_project}, headers=owner),
        404,
        "not_found",
    )
    await presentai_client.patch(
        f"{API}/projects/{project_id}", json={"archived": True}, headers=owner
    )
    error_of(
        await presentai_client.patch(url, json={"project_id": project_id}, headers=owner),
        409,
        "conflict",
    )
    for status in ("outline_generating", "slides_generating"):
        await set_columns(runtime, deck["id"], status=status)
        busy = error_of(
            await presentai_client.patch(url, json={"title": "x"}, headers=owner), 409, "conflict"
        )
        assert busy["status"] == status
    log = await presentai_client.get(f"{API}/organizations/{org_id}/audit-logs", headers=owner)
    updates = [e for e in log.json()["items"] if e["action"] == "presentation.updated"]
    assert updates[0]["changes"]["title"] == {"from": "Deck", "to": "Отчёт"}
    assert updates[0]["changes"]["project_id"] == {"from": project_id, "to": target}


async def test_soft_delete_hides_restores_and_expires(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    keep = await make_presentation(presentai_client, owner, project_id, "Keep")
    [slide_id] = await add_slides(runtime, deck["id"], "One")
    url = f"{P}/{deck['id']}"
    error_of(await presentai_client.post(f"{url}/restore", headers=owner), 409, "conflict")
    assert (await presentai_client.delete(url, headers=owner)).status_code == 204
    for response in (
        await presentai_client.get(url, headers=owner),
        await presentai_client.patch(url, json={"title": "x"}, headers=owner),
        await presentai_client.delete(url, headers=owner),
        await presentai_client.get(f"{url}/sources", headers=owner),
        await presentai_client.post(f"{url}/duplicate", headers=owner),
        await presentai_client.get(f"{API}/slides/{slide_id}", headers=owner),
    ):
        error_of(response, 404, "not_found")
    org = {"organization_id": org_id}
    listed = (await presentai_client.get(P, params=org, headers=owner)).json()["items"]
    assert [item["id"] for item in listed] == [keep["id"]]
    trash = (
        await presentai_client.get(P, params={**org, "deleted": "true"}, headers=owner)
    ).json()["items"]
    assert [item["id"] for item in trash] == [deck["id"]]
    deleted_at = datetime.fromisoformat(trash[0]["deleted_at"])
    assert datetime.fromisoformat(trash[0]["purge_at"]) == deleted_at + timedelta(days=30)
    async with runtime.db.session() as session:
        job = await session.scalar(select(Job).where(Job.name == PURGE_JOB))
        assert job is not None and job.payload == {"presentation_id": deck["id"]}
        assert job.run_at == deleted_at + timedelta(days=30)

    restored = await presentai_client.post(f"{url}/restore", headers=owner)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None and restored.json()["slides_count"] == 1
    assert (await presentai_client.get(url, headers=owner)).status_code == 200
    assert (
        await presentai_client.get(f"{API}/slides/{slide_id}", headers=owner)
    ).status_code == 200

    await set_columns(runtime, deck["id"], status="slides_generating")
    error_of(await presentai_client.delete(url, headers=owner), 409, "conflict")
    await set_columns(runtime, deck["id"], status="ready")
    assert (await presentai_client.delete(url, headers=owner)).status_code == 204
    await set_columns(runtime, deck["id"], deleted_at=utcnow() - timedelta(days=30, seconds=1))
    gone = error_of(await presentai_client.post(f"{url}/restore", headers=owner), 410, "gone")
    assert "30" in gone["message"]
    trash = await presentai_client.get(P, params={**org, "deleted": "true"}, headers=owner)
    assert trash.json()["items"] == []  # past the window: no longer restorable, not listed


async def test_the_purge_job_deletes_for_good_once_the_window_is_over(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    other = await make_presentation(presentai_client, owner, project_id, "Other")
    restored = await make_presentation(presentai_client, owner, project_id, "Restored")
    await add_slides(runtime, deck["id"], "One", "Two")
    own = await link_document(runtime, org_id, [deck["id"]], "own.txt")
    shared = await link_document(runtime, org_id, [deck["id"], other["id"]], "shared.txt")
    await add_job(runtime, deck["id"], "outline", "succeeded")
    for presentation in (deck, restored):
        assert (
            await presentai_client.delete(f"{P}/{presentation['id']}", headers=owner)
        ).status_code == 204
    await presentai_client.post(f"{P}/{restored['id']}/restore", headers=owner)
    await runtime.index.ensure_collection()
    await run_jobs(runtime)
    async with runtime.db.session() as session:
        purges = (await session.scalars(select(Job.status).where(Job.name == PURGE_JOB))).all()
        assert purges == ["queued", "queued"]  # not due for 30 days
        await session.execute(update(Job).where(Job.name == PURGE_JOB).values(run_at=utcnow()))
    await run_jobs(runtime)  # early: both jobs find nothing to do yet
    async with runtime.db.session() as session:
        assert await session.get(Presentation, uuid.UUID(deck["id"])) is not None
        results = (await session.scalars(select(Job.result).where(Job.name == PURGE_JOB))).all()
        assert sorted(r["reason"] for r in results if r) == [
            "restored",
            "within the retention window",
        ]
        await session.execute(
            update(Job).where(Job.name == PURGE_JOB).values(status="queued", run_at=utcnow())
        )
    await set_columns(runtime, deck["id"], deleted_at=utcnow() - timedelta(days=31))
    await run_jobs(runtime)
    async with runtime.db.session() as session:
        assert await session.get(Presentation, uuid.UUID(deck["id"])) is None
        assert await session.get(Presentation, uuid.UUID(restored["id"])) is not None
        for model, column in (
            (Slide, Slide.presentation_id),
            (GenerationJob, GenerationJob.presentation_id),
            (PresentationSource, PresentationSource.presentation_id),
        ):
            count = await session.scalar(
                select(func.count()).select_from(model).where(column == uuid.UUID(deck["id"]))
            )
            assert count == 0, model
        assert await session.scalar(select(func.count()).select_from(SlideVersion)) == 0
        assert await session.get(SourceDocument, own) is None
        assert await session.get(SourceDocument, shared) is not None  # still used by Other
        deletions = (await session.scalars(select(Job).where(Job.name == DELETE_JOB))).all()
        assert [job.payload["document_id"] for job in deletions] == [str(own)]
        assert deletions[0].status == "succeeded"


async def _history(runtime: Runtime, presentation_id: str) -> list[tuple[Any, ...]]:
    """(slide number, version, reason, title, author kind, created_at) of every version."""
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(
                Slide.position,
                SlideVersion.version,
                SlideVersion.reason,
                SlideVersion.title,
                SlideVersion.author_kind,
                SlideVersion.created_at,
            )
            .join(Slide, Slide.id == SlideVersion.slide_id)
            .where(Slide.presentation_id == uuid.UUID(presentation_id))
            .order_by(Slide.position, SlideVersion.version)
        )
        return [tuple(row) for row in rows.all()]


async def test_duplicate_copies_slides_history_and_sources(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    other_project = await make_project(presentai_client, owner, org_id, "Other")
    deck = await make_presentation(
        presentai_client, owner, project_id, "Deck", tone="formal", slide_count=3
    )
    await add_slides(runtime, deck["id"], "Intro", "Body")
    outline = {"items": [{"slide_number": 1, "title": "Intro", "key_points": []}]}
    document_id = await link_document(runtime, org_id, [deck["id"]])
    await set_columns(runtime, deck["id"], status="ready", outline=outline)

    copied = await presentai_client.post(f"{P}/{deck['id']}/duplicate", headers=owner)
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert copy["id"] != deck["id"]
    assert (copy["title"], copy["status"], copy["project_id"]) == (
        "Deck (copy)",
        "ready",
        project_id,
    )
    assert (copy["tone"], copy["slide_count"], copy["outline"]) == ("formal", 3, outline["items"])
    assert [s["title"] for s in copy["slides"]] == ["Intro", "Body"]
    assert [s["version"] for s in copy["slides"]] == [3, 1]
    assert copy["slides"][0]["bullets"] == [{"text": "Intro: bullet", "attribution": None}]
    assert [s["document_id"] for s in copy["sources"]] == [str(document_id)]
    assert await _history(runtime, copy["id"]) == await _history(runtime, deck["id"])
    assert [v[:3] for v in await _history(runtime, copy["id"])] == [
        (1, 1, "generated"),
        (1, 2, "edited"),
        (1, 3, "edited"),
        (2, 1, "generated"),
    ]
    original = (await presentai_client.get(f"{P}/{deck['id']}", headers=owner)).json()
    assert {s["id"] for s in original["slides"]}.isdisjoint({s["id"] for s in copy["slides"]})

    await set_columns(runtime, deck["id"], status="failed", failure_reason="llm down")
    named = await presentai_client.post(
        f"{P}/{deck['id']}/duplicate",
        json={"title": "Second", "project_id": other_project},
        headers=owner,
    )
    assert named.status_code == 201, named.text
    assert (named.json()["title"], named.json()["project_id"]) == ("Second", other_project)
    assert (named.json()["status"], named.json()["failure_reason"]) == ("failed", "llm down")
    job_id = await add_job(runtime, deck["id"], "slide", "running")
    await set_columns(runtime, deck["id"], status="ready", current_job_id=job_id)
    error_of(  # one slide is being regenerated
        await presentai_client.post(f"{P}/{deck['id']}/duplicate", headers=owner), 409, "conflict"
    )
    await set_columns(runtime, deck["id"], status="outline_generating", current_job_id=None)
    error_of(
        await presentai_client.post(f"{P}/{deck['id']}/duplicate", headers=owner), 409, "conflict"
    )
    await set_columns(runtime, deck["id"], status="ready")
    error_of(
        await presentai_client.post(
            f"{P}/{deck['id']}/duplicate", json={"title": "x" * 301}, headers=owner
        ),
        422,
        "validation_error",
    )
    error_of(
        await presentai_client.post(
            f"{P}/{deck['id']}/duplicate", json={"project_id": str(uuid.uuid4())}, headers=owner
        ),
        404,
        "not_found",
    )


async def test_roles_keys_and_other_organizations(presentai_client: httpx.AsyncClient) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    viewer = await add_member(presentai_client, owner, org_id, "viewer@example.com", "viewer")
    assert (await presentai_client.get(f"{P}/{deck['id']}", headers=viewer)).status_code == 200
    refused = error_of(
        await presentai_client.post(
            P, json={"project_id": project_id, "title": "x"}, headers=viewer
        ),
        403,
        "insufficient_role",
    )
    assert (refused["required"], refused["current"]) == ("editor", "viewer")
    key = await presentai_client.post(
        f"{API}/api-keys",
        json={
            "organization_id": org_id,
            "name": "CI",
            "scopes": ["presentations:read", "presentations:write"],
        },
        headers=owner,
    )
    with_key = {"X-API-Key": key.json()["key"]}
    by_key = await presentai_client.post(
        P, json={"project_id": project_id, "title": "By key"}, headers=with_key
    )
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["created_by"] is None
    listed = await presentai_client.get(P, headers=with_key)  # a key needs no organization_id
    assert {item["title"] for item in listed.json()["items"]} == {"Deck", "By key"}
    stranger = await bearer(presentai_client, "stranger@example.com")
    for response in (
        await presentai_client.get(f"{P}/{deck['id']}", headers=stranger),
        await presentai_client.delete(f"{P}/{deck['id']}", headers=stranger),
        await presentai_client.post(f"{P}/{deck['id']}/duplicate", headers=stranger),
        await presentai_client.get(P, params={"organization_id": org_id}, headers=stranger),
    ):
        error_of(response, 404, "not_found")


async def test_an_organization_with_presentations_can_be_erased(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """`presentations.project_id` is ON DELETE RESTRICT while both cascade from the
    organization: PostgreSQL runs the RESTRICT check of the cascaded project deletion after the
    organization's other cascades, so the presentations are gone by then. This keeps it so."""
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    deleted = await make_presentation(presentai_client, owner, project_id, "Deleted")
    await add_slides(runtime, deck["id"], "One")
    await link_document(runtime, org_id, [deck["id"], deleted["id"]])
    await add_job(runtime, deck["id"], "slides", "succeeded")
    await presentai_client.delete(f"{P}/{deleted['id']}", headers=owner)
    erased = await presentai_client.request(
        "DELETE", f"{API}/users/me", json={"password": PASSWORD}, headers=owner
    )
    assert erased.status_code == 200, erased.text
    assert org_id in erased.json()["organizations_deleted"]
    async with runtime.db.session() as session:
        for model in (
            Presentation,
            Slide,
            SlideVersion,
            PresentationSource,
            SourceDocument,
            GenerationJob,
        ):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
    await run_jobs(runtime)  # the purge of the deleted presentation finds nothing


def _cursor(parts: list[str]) -> str:
    raw = json.dumps(parts).encode()  # ASCII: escapes kept as they are
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_bad_input_answers_422_never_500(presentai_client: httpx.AsyncClient) -> None:
    owner, org_id, project_id = await owner_with_project(presentai_client)
    deck = await make_presentation(presentai_client, owner, project_id, "Deck")
    org = {"organization_id": org_id}
    for params in (
        {"q": "a\x00b"},
        {"created_from": "0001-01-01T00:00:00+05:00"},
        {"created_to": "9999-12-31T23:59:59-10:00"},
        {"cursor": "W10"},  # "[]"
        {"cursor": "WyJ0aXRsZSIsImRlc2MiLDEsIngiXQ"},  # ["title","desc",1,"x"]
        {"status": "x" * 500},
        {"sort": "title", "cursor": _cursor(["title", "desc", "\u0000", str(uuid.uuid4())])},
        {"sort": "title", "cursor": _cursor(["title", "desc", "\ud800", str(uuid.uuid4())])},
    ):
        got = await presentai_client.get(P, params={**org, **params}, headers=owner)
        assert got.status_code in (200, 422), (params, got.text)
    for body in (
        {"title": "a\u0000b"},
        {"slide_count": 10**30},
        {"language": 5},
        {"brand_kit_id": 5},
        {"project_id": None},
        {"tone": ["x"]},
    ):
        got = await presentai_client.patch(f"{P}/{deck['id']}", json=body, headers=owner)
        error_of(got, 422, "validation_error")
    for url in (f"{P}/{deck['id']}/duplicate", P):  # malformed JSON: 400, as everywhere
        error_of(
            await presentai_client.post(url, content=b"{", headers=owner | _json),
            400,
            "bad_request",
        )
