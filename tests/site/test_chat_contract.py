"""Section 4 of the site API spec ("Встраиваемый чат-виджет"): info, sessions, message, the SSE
stream and the history a widget restores, with the rate limits of the spec's table, the bot's
origin allow-list and per-session caps, answers grounded in the bot's knowledge only, and the
lead a visitor leaves in the chat."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from parmenid.runtime import Runtime
from parmenid.site.chat.answering import NO_KNOWLEDGE
from parmenid.site.chat.models import Avatar
from parmenid.site.leads.models import PlanRequest
from tests.fakes.llm_server import FakeLLM
from tests.fakes.server import ServerThread
from tests.site.chat_support import make_avatar
from tests.site.support import (
    ISO_UTC_Z,
    UUID_RE,
    Cases,
    assert_error,
    assert_validation_error,
    fresh_ip,
    from_ip,
)

INFO_KEYS = {"id", "name", "description", "avatar_image_url", "primary_color", "welcome_message"}
SESSION_KEYS = {"id", "avatar_id", "source", "is_active", "messages_count", "created_at"}
USER_MESSAGE_KEYS = {"id", "role", "content", "created_at"}
ASSISTANT_MESSAGE_KEYS = {"id", "role", "content", "tokens_used", "sources", "created_at"}

PRICE_QUESTION = "Сколько стоит тариф Pro?"  # answered by the default knowledge, with sources
FORMATS_QUESTION = "Из каких документов PresentAI строит презентации?"  # no prices, no demo
UNRELATED_QUESTION = "Какая погода будет завтра на Марсе?"  # nothing in the knowledge
INVENTED = "Тариф Pro стоит 100500 рублей, а погода на Марсе солнечная."
GOOD_ORIGIN = "https://good.example"


def chat_url(avatar_id: uuid.UUID | str, tail: str) -> str:
    return f"/api/v1/chat/{avatar_id}/{tail}"


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """`event:`/`data:` blocks of a `text/event-stream` body, comments skipped."""
    events: list[tuple[str, dict[str, Any]]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


class Chat:
    """A visitor's widget: one client address, optional extra headers."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        avatar_id: uuid.UUID,
        *,
        ip: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.avatar_id = avatar_id
        self.headers = from_ip(ip or fresh_ip(), **(headers or {}))

    async def info(self) -> httpx.Response:
        return await self.client.get(chat_url(self.avatar_id, "info"), headers=self.headers)

    async def open(self, source: str | None = "web") -> httpx.Response:
        params = {"source": source} if source is not None else {}
        return await self.client.post(
            chat_url(self.avatar_id, "sessions"), params=params, headers=self.headers
        )

    async def session(self) -> str:
        response = await self.open()
        assert response.status_code == 201, response.text
        session_id: str = response.json()["id"]
        return session_id

    async def ask(self, session_id: str, content: str) -> httpx.Response:
        return await self.client.post(
            chat_url(self.avatar_id, "message"),
            params={"session_id": session_id},
            json={"content": content},
            headers=self.headers,
        )

    async def answer(self, session_id: str, content: str) -> dict[str, Any]:
        response = await self.ask(session_id, content)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def stream(self, session_id: str, content: str) -> httpx.Response:
        return await self.client.post(
            chat_url(self.avatar_id, "stream"),
            params={"session_id": session_id, "content": content},
            headers=self.headers,
        )

    async def streamed(self, session_id: str, content: str) -> list[tuple[str, dict[str, Any]]]:
        response = await self.stream(session_id, content)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        return parse_sse(response.text)

    async def history(self, session_id: str) -> httpx.Response:
        return await self.client.get(
            chat_url(self.avatar_id, f"sessions/{session_id}/messages"), headers=self.headers
        )

    async def messages(self, session_id: str) -> list[dict[str, Any]]:
        response = await self.history(session_id)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["session_id"] == session_id, body
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    async def lead(self, session_id: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            chat_url(self.avatar_id, f"sessions/{session_id}/lead"), json=body, headers=self.headers
        )


def events_named(events: list[tuple[str, dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    return [data for event, data in events if event == name]


def streamed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(data["content"] for data in events_named(events, "chunk"))


def assert_user_message(message: dict[str, Any], content: str) -> None:
    assert set(message) >= USER_MESSAGE_KEYS, message
    assert UUID_RE.match(message["id"]), message
    assert message["role"] == "user", message
    assert message["content"] == content, message
    assert ISO_UTC_Z.match(message["created_at"]), message


def assert_assistant_message(message: dict[str, Any]) -> None:
    assert set(message) >= ASSISTANT_MESSAGE_KEYS, message
    assert UUID_RE.match(message["id"]), message
    assert message["role"] == "assistant", message
    assert isinstance(message["content"], str) and message["content"].strip(), message
    assert isinstance(message["tokens_used"], int), message
    assert not isinstance(message["tokens_used"], bool), message
    assert message["tokens_used"] >= 0, message
    assert isinstance(message["sources"], list), message
    assert all(isinstance(source, dict) for source in message["sources"]), message
    assert ISO_UTC_Z.match(message["created_at"]), message


async def set_active(runtime: Runtime, avatar_id: uuid.UUID, active: bool) -> None:
    async with runtime.db.session() as session:
        await session.execute(update(Avatar).where(Avatar.id == avatar_id).values(is_active=active))
        await session.commit()


# --- an LLM that writes whatever we like, on a real socket -----------------------------------


@pytest.fixture(scope="module")
def llm_server() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def fake_llm(llm_server: tuple[FakeLLM, str]) -> FakeLLM:
    """Requesting this fixture points the runtime's LLM at the fake (Anthropic API, no retry)."""
    fake = llm_server[0]
    fake.reply = "Hello from the fake LLM."
    fake.fail_mode = None
    fake.ttft_s = fake.chunk_interval_s = 0.0
    fake.received.clear()
    return fake


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    if "fake_llm" not in request.fixturenames:
        return {}  # the local extractive engine answers
    url = request.getfixturevalue("llm_server")[1]
    return {
        "llm": {
            "fallback_chain": ["anthropic"],
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": url,
            "timeout_seconds": 5,
            "retry_attempts": 1,
        }
    }


def prompt_messages(fake: FakeLLM, index: int) -> list[tuple[str, str]]:
    """(role, text) of the conversation messages of the fake's `index`-th request."""
    flat: list[tuple[str, str]] = []
    for message in fake.received[index].messages:
        content = message["content"]
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        flat.append((message["role"], str(content)))
    return flat


# --- 4.1 info --------------------------------------------------------------------------------


async def test_info_shows_the_bot_as_the_spec_describes(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(
        runtime, knowledge=None, avatar_image_url="https://cdn.example/bot.png"
    )
    response = await Chat(site_client, avatar_id).info()
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == INFO_KEYS, body
    assert body == {
        "id": str(avatar_id),
        "name": "AI Консультант",
        "description": "Помогу ответить на вопросы о платформе",
        "avatar_image_url": "https://cdn.example/bot.png",
        "primary_color": "#3B82F6",
        "welcome_message": "Здравствуйте! Чем могу помочь?",
    }


async def test_info_of_a_bot_without_picture_or_description(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime, knowledge=None, description=None)
    body = (await Chat(site_client, avatar_id).info()).json()
    assert set(body) == INFO_KEYS, body
    assert body["description"] is None and body["avatar_image_url"] is None, body
    assert isinstance(body["primary_color"], str) and isinstance(body["welcome_message"], str)


# --- 4.2 sessions ----------------------------------------------------------------------------


async def test_a_session_is_created_with_the_spec_fields(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime, knowledge=None)
    chat = Chat(site_client, avatar_id)
    response = await chat.open("web")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SESSION_KEYS, body
    assert UUID_RE.match(body["id"]), body
    assert body["avatar_id"] == str(avatar_id)
    assert body["source"] == "web"
    assert body["is_active"] is True
    assert body["messages_count"] == 0 and not isinstance(body["messages_count"], bool)
    assert ISO_UTC_Z.match(body["created_at"]), body
    # Each call starts a new conversation; without `source` it is "web", another is kept.
    second = (await chat.open(None)).json()
    assert second["id"] != body["id"] and second["source"] == "web", second
    assert (await chat.open("landing")).json()["source"] == "landing"
    assert await chat.messages(body["id"]) == []


# --- 4.3 message and 4.4 stream --------------------------------------------------------------


async def test_a_message_gets_an_answer_from_the_knowledge_with_sources(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    body = await chat.answer(session_id, PRICE_QUESTION)
    assert {"user_message", "assistant_message"} <= set(body), body
    assert_user_message(body["user_message"], PRICE_QUESTION)
    answer = body["assistant_message"]
    assert_assistant_message(answer)
    assert answer["id"] != body["user_message"]["id"]
    assert "2900" in answer["content"], answer  # the price from the knowledge
    assert answer["tokens_used"] > 0, answer
    assert answer["sources"], answer
    assert any("2900" in json.dumps(s, ensure_ascii=False) for s in answer["sources"]), answer
    assert answer["created_at"] >= body["user_message"]["created_at"], body


async def test_the_stream_sends_the_spec_events_in_order(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    events = await chat.streamed(session_id, PRICE_QUESTION)
    names = [name for name, _ in events]
    assert names[0] == "message_received", names
    assert names[-1] == "done", names
    assert names.count("message_received") == 1 and names.count("done") == 1, names
    assert "error" not in names, events
    assert "chunk" in names, names
    assert "sources" in names and names.index("sources") < names.index("chunk"), names
    assert set(names) <= {"message_received", "sources", "chunk", "done"}, names

    received = events[0][1]
    assert set(received) == {"message_id"} and UUID_RE.match(received["message_id"]), received
    for chunk in events_named(events, "chunk"):
        assert set(chunk) == {"content"} and isinstance(chunk["content"], str), chunk
    done = events[-1][1]
    assert {"message_id", "tokens_used"} <= set(done), done
    assert UUID_RE.match(done["message_id"]) and done["message_id"] != received["message_id"]
    assert isinstance(done["tokens_used"], int) and done["tokens_used"] > 0, done
    (sources,) = events_named(events, "sources")
    assert sources["sources"], sources
    assert "2900" in streamed_text(events)

    # `message_received` names the stored question, `done` the stored answer.
    question, answer = await chat.messages(session_id)
    assert_user_message(question, PRICE_QUESTION)
    assert question["id"] == received["message_id"]
    assert_assistant_message(answer)
    assert answer["id"] == done["message_id"]
    assert answer["content"] == streamed_text(events)
    assert answer["tokens_used"] == done["tokens_used"]


async def test_the_stream_takes_the_question_in_a_json_body_too(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    response = await site_client.post(
        chat_url(chat.avatar_id, "stream"),
        params={"session_id": session_id},
        json={"content": PRICE_QUESTION},
        headers=chat.headers,
    )
    assert response.status_code == 200, response.text
    assert "2900" in streamed_text(parse_sse(response.text))
    question, answer = await chat.messages(session_id)
    assert question["content"] == PRICE_QUESTION
    assert answer["content"] == streamed_text(parse_sse(response.text))


async def test_history_restores_the_conversation_with_the_same_sources(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    reply = await chat.answer(session_id, PRICE_QUESTION)
    events = await chat.streamed(session_id, FORMATS_QUESTION)
    (streamed_sources,) = events_named(events, "sources")

    history = await chat.messages(session_id)
    assert [(m["role"], m.get("content")) for m in history[::2]] == [
        ("user", PRICE_QUESTION),
        ("user", FORMATS_QUESTION),
    ], history
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"], history
    first_q, first_a, second_q, second_a = history
    assert first_q == reply["user_message"]
    assert first_a["id"] == reply["assistant_message"]["id"]
    for key in ASSISTANT_MESSAGE_KEYS:
        assert first_a[key] == reply["assistant_message"][key], key
    assert first_a["sources"], first_a
    assert second_q["id"] == events[0][1]["message_id"]
    assert second_a["id"] == events_named(events, "done")[0]["message_id"]
    assert second_a["content"] == streamed_text(events)
    assert second_a["sources"] == streamed_sources["sources"]
    assert second_a["sources"], second_a
    assert "PDF" in second_a["content"], second_a


# --- rate limits of the spec's table ----------------------------------------------------------

LIMITS = {"info": 60, "sessions": 60, "message": 30, "stream": 30}


@pytest.mark.parametrize("endpoint", list(LIMITS))
async def test_the_rate_limit_of_the_table_applies_per_ip(
    site_client: httpx.AsyncClient, runtime: Runtime, endpoint: str
) -> None:
    avatar_id = await make_avatar(runtime)
    ip = fresh_ip()
    chat = Chat(site_client, avatar_id, ip=ip)
    session_id = await Chat(site_client, avatar_id).session()  # opened from elsewhere

    async def call(visitor: Chat) -> httpx.Response:
        if endpoint == "info":
            return await visitor.info()
        if endpoint == "sessions":
            return await visitor.open()
        if endpoint == "message":
            return await visitor.ask(session_id, "Привет")
        return await visitor.stream(session_id, "Привет")

    limit, accepted = LIMITS[endpoint], 201 if endpoint == "sessions" else 200
    for n in range(limit):
        response = await call(chat)
        assert response.status_code == accepted, (n, response.text)
    refused = await call(chat)
    error = assert_error(refused, 429, "RATE_LIMIT")
    retry_after = refused.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit(), refused.headers
    assert 1 <= int(retry_after) <= 60, retry_after
    assert error["message"].strip()
    # Another visitor is not affected.
    other = await call(Chat(site_client, avatar_id))
    assert other.status_code == accepted, other.text
    if endpoint in ("message", "stream"):  # the refused question was not stored
        questions = [m for m in await chat.messages(session_id) if m["role"] == "user"]
        assert len(questions) == limit + 1, len(questions)


# --- not found -------------------------------------------------------------------------------


async def test_unknown_or_inactive_bots_and_foreign_sessions_are_not_found(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime)
    other_id = await make_avatar(runtime)
    chat, other = Chat(site_client, avatar_id), Chat(site_client, other_id)
    session_id = await chat.session()
    await chat.answer(session_id, PRICE_QUESTION)
    foreign_session = await other.session()
    lead = {"request_type": "demo_request", "contact_email": "visitor@company.com"}

    async def all_calls(visitor: Chat, sid: str) -> dict[str, httpx.Response]:
        return {
            "info": await visitor.info(),
            "sessions": await visitor.open(),
            "message": await visitor.ask(sid, PRICE_QUESTION),
            "stream": await visitor.stream(sid, PRICE_QUESTION),
            "history": await visitor.history(sid),
            "lead": await visitor.lead(sid, lead),
        }

    cases = Cases()
    unknown = Chat(site_client, uuid.uuid4())
    for name, response in (await all_calls(unknown, session_id)).items():
        with cases.case(("unknown bot", name)):
            assert_error(response, 404, "NOT_FOUND")
    session_calls = ("message", "stream", "history", "lead")
    for label, sid in (("unknown session", str(uuid.uuid4())), ("foreign", foreign_session)):
        calls = await all_calls(chat, sid)
        for name in session_calls:
            with cases.case((label, name)):
                assert_error(calls[name], 404, "NOT_FOUND")

    await set_active(runtime, avatar_id, False)
    for name, response in (await all_calls(chat, session_id)).items():
        with cases.case(("inactive bot", name)):
            assert_error(response, 404, "NOT_FOUND")
    cases.check()

    # Nothing was stored by the refused calls; the bot comes back when reactivated.
    await set_active(runtime, avatar_id, True)
    assert len(await chat.messages(session_id)) == 2
    assert await other.messages(foreign_session) == []
    async with runtime.db.session() as session:
        assert (await session.scalars(select(PlanRequest))).all() == []


# --- origin allow-list -----------------------------------------------------------------------


async def test_an_origin_allow_list_serves_only_those_sites(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime, allowed_origins=[GOOD_ORIGIN])
    good = Chat(site_client, avatar_id, headers={"Origin": GOOD_ORIGIN})
    assert (await good.info()).status_code == 200
    session_id = await good.session()
    reply = await good.answer(session_id, PRICE_QUESTION)
    assert "2900" in reply["assistant_message"]["content"]
    assert "2900" in streamed_text(await good.streamed(session_id, PRICE_QUESTION))
    assert len(await good.messages(session_id)) == 4

    cases = Cases()
    refused: list[dict[str, str]] = [
        {"Origin": "https://evil.example"},
        {"Origin": "http://good.example"},
        {"Origin": "https://good.example.evil.example"},
        {"Origin": "https://evilgood.example"},
        {"Origin": "null"},
        {},  # no Origin at all: the list fails closed
    ]
    for headers in refused:
        visitor = Chat(site_client, avatar_id, headers=headers)
        calls = {
            "info": await visitor.info(),
            "sessions": await visitor.open(),
            "message": await visitor.ask(session_id, PRICE_QUESTION),
            "stream": await visitor.stream(session_id, PRICE_QUESTION),
            "history": await visitor.history(session_id),
            "lead": await visitor.lead(
                session_id, {"request_type": "demo_request", "contact_email": "a@company.com"}
            ),
        }
        for name, response in calls.items():
            with cases.case((headers.get("Origin"), name)):
                assert_error(response, 403)
    cases.check()
    assert len(await good.messages(session_id)) == 4  # the refused questions were not stored
    async with runtime.db.session() as session:
        assert (await session.scalars(select(PlanRequest))).all() == []

    # A bot without a list serves any site, and requests without Origin.
    open_bot = await make_avatar(runtime, knowledge=None)
    for headers in ({}, {"Origin": "https://evil.example"}):
        assert (await Chat(site_client, open_bot, headers=headers).info()).status_code == 200


# --- per-session caps ------------------------------------------------------------------------


async def test_a_session_takes_at_most_max_messages_per_session_questions(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime, max_messages_per_session=2))
    session_id = await chat.session()
    await chat.answer(session_id, PRICE_QUESTION)
    await chat.streamed(session_id, FORMATS_QUESTION)
    assert_error(await chat.ask(session_id, "А третий вопрос?"), 429, "RATE_LIMIT")
    assert_error(await chat.stream(session_id, "А третий вопрос?"), 429, "RATE_LIMIT")
    assert len(await chat.messages(session_id)) == 4
    # A new conversation may start.
    fresh = await chat.answer(await chat.session(), PRICE_QUESTION)
    assert "2900" in fresh["assistant_message"]["content"]


async def test_parallel_questions_cannot_slip_past_the_cap(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime, max_messages_per_session=3))
    session_id = await chat.session()
    asked = await asyncio.gather(*(chat.ask(session_id, PRICE_QUESTION) for _ in range(4)))
    streamed = await asyncio.gather(*(chat.stream(session_id, PRICE_QUESTION) for _ in range(4)))
    statuses = sorted(r.status_code for r in [*asked, *streamed])
    assert statuses == [200] * 3 + [429] * 5, statuses
    for response in [*asked, *streamed]:
        if response.status_code == 429:
            assert_error(response, 429, "RATE_LIMIT")
        elif response.headers["content-type"].startswith("application/json"):
            assert "2900" in response.json()["assistant_message"]["content"]
        else:
            assert "2900" in streamed_text(parse_sse(response.text))
    history = await chat.messages(session_id)
    assert [m["role"] for m in history] == ["user", "assistant"] * 3, history
    assert all(m["status"] == "complete" for m in history[1::2]), history


async def test_a_question_longer_than_max_message_chars_is_refused(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime, max_message_chars=10))
    session_id = await chat.session()
    assert_validation_error(await chat.ask(session_id, "Тариф Pro??"), "content")  # 11 chars
    assert_validation_error(await chat.stream(session_id, "Тариф Pro??"), "content")
    assert await chat.messages(session_id) == []
    reply = await chat.answer(session_id, "Тариф Pro?")  # 10 chars
    assert_user_message(reply["user_message"], "Тариф Pro?")
    for empty in ("", "   "):
        assert_validation_error(await chat.ask(session_id, empty), "content")
    assert len(await chat.messages(session_id)) == 2


# --- answers only from the knowledge ---------------------------------------------------------


async def test_without_relevant_knowledge_the_bot_says_so(
    site_client: httpx.AsyncClient, runtime: Runtime, fake_llm: FakeLLM
) -> None:
    fake_llm.reply = INVENTED
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()

    answer = (await chat.answer(session_id, UNRELATED_QUESTION))["assistant_message"]
    assert answer["content"] == NO_KNOWLEDGE["ru"], answer
    assert answer["sources"] == [], answer
    events = await chat.streamed(session_id, UNRELATED_QUESTION)
    assert streamed_text(events) == NO_KNOWLEDGE["ru"]
    assert events_named(events, "sources") == [{"sources": []}]
    assert [m["sources"] for m in (await chat.messages(session_id))[1::2]] == [[], []]

    # A bot with no documents at all does not make up prices either.
    empty = Chat(site_client, await make_avatar(runtime, knowledge=None))
    empty_session = await empty.session()
    answer = (await empty.answer(empty_session, PRICE_QUESTION))["assistant_message"]
    assert answer["content"].startswith(NO_KNOWLEDGE["ru"]), answer
    assert INVENTED not in answer["content"] and answer["sources"] == [], answer
    events = await empty.streamed(empty_session, PRICE_QUESTION)
    assert streamed_text(events).startswith(NO_KNOWLEDGE["ru"])
    assert events_named(events, "sources") == [{"sources": []}]
    assert fake_llm.received == []  # nothing to answer from: the model was not asked

    # Sanity: with knowledge the same bot does ask the model.
    grounded = (await chat.answer(session_id, PRICE_QUESTION))["assistant_message"]
    assert grounded["content"].startswith(INVENTED) and grounded["sources"], grounded
    assert len(fake_llm.received) == 1


async def test_when_the_model_fails_the_answer_says_so_and_is_kept_as_failed(
    site_client: httpx.AsyncClient, runtime: Runtime, fake_llm: FakeLLM
) -> None:
    fake_llm.fail_mode = "500"
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    reply = await chat.answer(session_id, FORMATS_QUESTION)
    assert_user_message(reply["user_message"], FORMATS_QUESTION)
    failed = reply["assistant_message"]
    assert failed["status"] == "failed", failed
    assert failed["content"].strip() and fake_llm.reply not in failed["content"], failed
    assert failed["sources"], failed  # what was found is kept, as the stream showed it
    history = await chat.messages(session_id)
    assert [m["status"] for m in history[1::2]] == ["failed"]
    assert history[1]["sources"] == failed["sources"]

    fake_llm.fail_mode = None  # the visitor asks again and gets an answer
    again = (await chat.answer(session_id, FORMATS_QUESTION))["assistant_message"]
    assert again["status"] == "complete" and again["content"] == fake_llm.reply, again
    # The failed turn is not part of the prompt: no question without its answer.
    roles = [m["role"] for m in fake_llm.received[-1].messages]
    assert roles == ["user"], roles


async def test_the_conversation_so_far_is_part_of_the_prompt(
    site_client: httpx.AsyncClient, runtime: Runtime, fake_llm: FakeLLM
) -> None:
    avatar_id = await make_avatar(runtime)
    chat = Chat(site_client, avatar_id)
    session_id = await chat.session()
    fake_llm.reply = "Тариф Pro стоит 2900 рублей в месяц [1]."
    first = (await chat.answer(session_id, PRICE_QUESTION))["assistant_message"]
    fake_llm.reply = "В Enterprise входит выделенный сервер [1]."
    second_question = "А что входит в тариф Enterprise?"
    events = await chat.streamed(session_id, second_question)
    assert streamed_text(events).startswith("В Enterprise входит")

    assert len(fake_llm.received) == 2
    assert prompt_messages(fake_llm, 0)[:-1] == []  # the first question had no history
    second = prompt_messages(fake_llm, 1)
    assert second[:-1] == [("user", PRICE_QUESTION), ("assistant", first["content"])], second
    assert second[-1][0] == "user" and second_question in second[-1][1], second
    assert "2900" in (fake_llm.received[1].system or ""), "the sources are in the prompt"

    # Another visitor's conversation never leaks into the prompt.
    stranger = await chat.session()
    await chat.answer(stranger, "Сколько стоит тариф Enterprise?")
    third = prompt_messages(fake_llm, 2)
    assert len(third) == 1 and PRICE_QUESTION not in json.dumps(third, ensure_ascii=False)


# --- leads from the chat ---------------------------------------------------------------------


async def test_a_question_about_prices_offers_to_leave_a_contact(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    chat = Chat(site_client, await make_avatar(runtime))
    session_id = await chat.session()
    plain = (await chat.answer(session_id, FORMATS_QUESTION))["assistant_message"]
    assert plain["lead_offer"] is False, plain
    priced = (await chat.answer(session_id, PRICE_QUESTION))["assistant_message"]
    assert priced["lead_offer"] is True, priced
    assert "email" in priced["content"].lower() or "telegram" in priced["content"].lower()
    events = await chat.streamed(session_id, "Можно заказать демо?")
    assert events_named(events, "done")[0].get("lead_offer") is True, events
    assert [m.get("lead_offer") for m in await chat.messages(session_id)][1::2] == [
        False,
        True,
        True,
    ]

    response = await chat.lead(
        session_id,
        {
            "request_type": "demo_request",
            "contact_email": "visitor@company.com",
            "message": "Хочу демо",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert UUID_RE.match(created["id"]) and created["status"] == "new", created
    assert created["request_type"] == "demo_request"
    async with runtime.db.session() as session:
        row = await session.get(PlanRequest, uuid.UUID(created["id"]))
    assert row is not None
    assert row.chat_session_id == uuid.UUID(session_id)
    assert row.contact_email == "visitor@company.com"
    assert row.request_type == "demo_request"

    # A lead needs a contact, like the site's forms.
    no_contact = await chat.lead(session_id, {"request_type": "demo_request"})
    assert_validation_error(no_contact)
