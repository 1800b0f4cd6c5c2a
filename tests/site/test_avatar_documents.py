"""Knowledge documents of an avatar through the admin API: upload or import from a web
address, ingestion, answers in the public chat, removal; limits and refusals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from parmenid.runtime import Runtime
from parmenid.site.chat.models import Avatar, AvatarDocument
from tests.conftest import run_jobs
from tests.fakes.server import ServerThread
from tests.site.avatars_support import (
    AVATARS,
    DOCUMENT_KEYS,
    SESSION_KEYS,
    SETTINGS,
    UPLOAD_LIMIT,
    Team,
    create_avatar,
    document_count,
    make_team,
    upload,
)
from tests.site.chat_support import KNOWLEDGE
from tests.site.support import ISO_UTC_Z, Cases, assert_error, assert_validation_error


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return SETTINGS


@pytest.fixture
async def team(site_client: httpx.AsyncClient, runtime: Runtime) -> Team:
    return await make_team(site_client, runtime)


async def test_an_uploaded_document_is_indexed_and_the_bot_answers_from_it(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    response = await upload(site_client, avatar["id"], team["editor"], KNOWLEDGE.encode())
    assert response.status_code == 202, response.text
    document = response.json()
    assert set(document) == DOCUMENT_KEYS
    assert document["filename"] == "prices.md"
    assert document["kind"] in {"markdown", "text"}
    assert document["size_bytes"] == len(KNOWLEDGE.encode())
    assert (document["ingestion_status"], document["indexed_at"]) == ("pending", None)

    assert await run_jobs(runtime) >= 1
    listed = await site_client.get(f"{AVATARS}/{avatar['id']}/documents", headers=team["viewer"])
    assert listed.status_code == 200, listed.text
    [indexed] = listed.json()["items"]
    assert indexed["id"] == document["id"]
    assert indexed["ingestion_status"] == "indexed", indexed
    assert indexed["chunks_created"] >= 1
    assert ISO_UTC_Z.match(indexed["indexed_at"]), indexed

    chat = await site_client.post(f"/api/v1/chat/{avatar['id']}/sessions")
    assert chat.status_code == 201, chat.text
    session_id = chat.json()["id"]
    reply = await site_client.post(
        f"/api/v1/chat/{avatar['id']}/message",
        params={"session_id": session_id},
        json={"content": "Сколько стоит тариф Pro?"},
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()["assistant_message"]
    assert "2900" in answer["content"], answer
    assert {source["document_id"] for source in answer["sources"]} == {document["id"]}

    # the admin reads the conversation
    sessions = await site_client.get(f"{AVATARS}/{avatar['id']}/sessions", headers=team["admin"])
    assert sessions.status_code == 200, sessions.text
    page = sessions.json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    [listed_session] = page["items"]
    assert set(listed_session) == SESSION_KEYS
    assert (listed_session["id"], listed_session["messages_count"]) == (session_id, 2)
    assert ISO_UTC_Z.match(listed_session["last_message_at"]), listed_session
    transcript = await site_client.get(
        f"{AVATARS}/{avatar['id']}/sessions/{session_id}/messages", headers=team["owner"]
    )
    assert transcript.status_code == 200, transcript.text
    history = transcript.json()
    assert history["session_id"] == session_id
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert history["messages"][0]["content"] == "Сколько стоит тариф Pro?"
    assert history["messages"][1]["content"] == answer["content"]
    assert history["messages"][1]["sources"] == answer["sources"]


async def test_too_large_uploads_are_refused_without_being_stored(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    cases = Cases()
    with cases.case("just over the limit"):
        response = await upload(
            site_client, avatar["id"], team["editor"], b"a" * (UPLOAD_LIMIT + 1)
        )
        error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert error["max_bytes"] == UPLOAD_LIMIT
    with cases.case("declared far over the limit"):
        response = await upload(site_client, avatar["id"], team["editor"], b"a" * UPLOAD_LIMIT * 2)
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    with cases.case("streamed without a length"):
        sent = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
            for _ in range(100):
                sent += 1
                yield b"a" * 16384
            yield b"\r\n--B--\r\n"

        response = await site_client.post(
            f"{AVATARS}/{avatar['id']}/documents",
            content=body(),
            headers={**team["editor"], "Content-Type": "multipart/form-data; boundary=B"},
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert sent <= UPLOAD_LIMIT // 16384 + 2  # reading stopped at the limit
    cases.check()
    assert await document_count(runtime) == 0

    at_limit = (b"word " * (UPLOAD_LIMIT // 5 + 1))[:UPLOAD_LIMIT]
    response = await upload(site_client, avatar["id"], team["editor"], at_limit, "big.txt")
    assert response.status_code == 202, response.text
    assert response.json()["size_bytes"] == UPLOAD_LIMIT


async def test_unsupported_and_unreadable_uploads(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    url = f"{AVATARS}/{avatar['id']}/documents"
    editor = team["editor"]
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    cases = Cases()
    with cases.case("binary"):
        error = assert_error(
            await upload(site_client, avatar["id"], editor, png, "slides.pdf"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        )
        assert error["reason"] == "unsupported"
    with cases.case("legacy office"):
        legacy = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
        response = await upload(site_client, avatar["id"], editor, legacy, "old.doc")
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    with cases.case("english"):
        response = await site_client.post(
            url,
            files={"file": ("a.bin", png)},
            headers={**editor, "Accept-Language": "en"},
        )
        assert "not supported" in assert_error(response, 415)["message"]
    with cases.case("empty file"):
        response = await upload(site_client, avatar["id"], editor, b"", "empty.txt")
        assert_validation_error(response, "file")
    with cases.case("no file field"):
        response = await site_client.post(
            url, data={"other": "x"}, files={"attachment": ("a.md", b"# x")}, headers=editor
        )
        assert_validation_error(response, "file")
    with cases.case("json instead of a file"):
        response = await site_client.post(url, json={"file": "text"}, headers=editor)
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    with cases.case("truncated body"):
        response = await site_client.post(
            url,
            content=b'--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nab',
            headers={**editor, "Content-Type": "multipart/form-data; boundary=B"},
        )
        assert_error(response, 400, "BAD_REQUEST")
    cases.check()
    assert await document_count(runtime) == 0


async def test_removing_a_document_removes_it_from_the_answers(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    response = await upload(site_client, avatar["id"], team["editor"], KNOWLEDGE.encode())
    document_id = response.json()["id"]
    await run_jobs(runtime)
    found = await runtime.index.search(str(team.organization_id), "тариф Pro", limit=5)
    assert found.hits

    url = f"{AVATARS}/{avatar['id']}/documents/{document_id}"
    response = await site_client.delete(url, headers=team["editor"])
    assert response.status_code == 204, response.text
    await run_jobs(runtime)
    listed = await site_client.get(f"{AVATARS}/{avatar['id']}/documents", headers=team["owner"])
    assert listed.json() == {"items": []}
    assert await document_count(runtime) == 0
    found = await runtime.index.search(str(team.organization_id), "тариф Pro", limit=5)
    assert not found.hits
    assert_error(await site_client.delete(url, headers=team["editor"]), 404, "NOT_FOUND")


async def test_deleting_an_avatar_deletes_its_documents(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    avatar = await create_avatar(site_client, team)
    await upload(site_client, avatar["id"], team["editor"], KNOWLEDGE.encode())
    await site_client.post(f"/api/v1/chat/{avatar['id']}/sessions")
    response = await site_client.delete(f"{AVATARS}/{avatar['id']}", headers=team["owner"])
    assert response.status_code == 204, response.text
    await run_jobs(runtime)
    assert await document_count(runtime) == 0
    async with runtime.db.session() as session:
        assert await session.get(Avatar, uuid.UUID(avatar["id"])) is None
        assert not (await session.scalars(select(AvatarDocument))).all()
    response = await site_client.get(f"/api/v1/chat/{avatar['id']}/info")
    assert_error(response, 404, "NOT_FOUND")


async def test_documents_are_not_shared_across_avatars_by_id(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    first = await create_avatar(site_client, team)
    second = await create_avatar(site_client, team, name="Второй")
    response = await upload(site_client, first["id"], team["editor"], KNOWLEDGE.encode())
    document_id = response.json()["id"]
    other = f"{AVATARS}/{second['id']}/documents/{document_id}"
    assert_error(await site_client.delete(other, headers=team["owner"]), 404, "NOT_FOUND")
    assert await document_count(runtime) == 1


# --- documents from a web address ----------------------------------------------------------------

PAGE = "# Доставка\n\nДоставка по Москве занимает один день и стоит 300 рублей.\n"


@pytest.fixture(scope="module")
def web() -> Iterator[ServerThread]:
    app = Starlette(
        routes=[
            Route("/delivery.md", lambda _: PlainTextResponse(PAGE)),
            Route("/missing", lambda _: PlainTextResponse("no", status_code=404)),
            Route("/image", lambda _: PlainTextResponse(bytes(range(256)) * 4)),
        ]
    )
    with ServerThread(app) as running:
        yield running


async def test_a_document_is_added_from_a_web_address(
    site_client: httpx.AsyncClient, runtime: Runtime, team: Team, web: ServerThread
) -> None:
    avatar = await create_avatar(site_client, team)
    url = f"{AVATARS}/{avatar['id']}/documents/url"
    response = await site_client.post(
        url, json={"url": f"{web.url}/delivery.md"}, headers=team["editor"]
    )
    assert response.status_code == 202, response.text
    document = response.json()
    assert (document["filename"], document["source_url"]) == (
        "delivery.md",
        f"{web.url}/delivery.md",
    )
    await run_jobs(runtime)
    [listed] = (
        await site_client.get(f"{AVATARS}/{avatar['id']}/documents", headers=team["viewer"])
    ).json()["items"]
    assert listed["ingestion_status"] == "indexed", listed

    cases = Cases()
    for target, reason in [
        (f"{web.url}/missing", "http_error"),
        ("http://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("ftp://example.com/file.txt", "scheme_not_allowed"),
        ("not a url", "bad_url"),
    ]:
        with cases.case(target):
            response = await site_client.post(url, json={"url": target}, headers=team["editor"])
            error = assert_validation_error(response, "url")
            assert error["reason"] == reason
            assert error["message"].startswith("Не удалось загрузить документ по ссылке")
    with cases.case("unsupported content"):
        response = await site_client.post(
            url, json={"url": f"{web.url}/image"}, headers=team["editor"]
        )
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    cases.check()
    assert await document_count(runtime) == 1
