"""The chat's SSE stream end to end: the site app on a real uvicorn socket, the LLM behind the
real SDKs pointed at fake Anthropic/OpenAI servers, the stream read as a browser reads it.

The app gets a runtime of its own, built and closed inside the server's event loop (database
connections belong to one loop); the bot is set up beforehand with another runtime, closed
before the server starts (the local knowledge index locks its directory).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from parmenid.config import Settings
from parmenid.runtime import Runtime
from parmenid.site.app import create_app
from tests.conftest import truncate_all
from tests.fakes.llm_server import FakeLLM
from tests.fakes.server import ServerThread
from tests.site.chat_support import make_avatar
from tests.site.support import UUID_RE, from_ip

PRICE_QUESTION = "Сколько стоит тариф Pro?"
FORMATS_QUESTION = "Из каких документов PresentAI строит презентации?"  # no lead offer
CLAUDE_REPLY = (
    "PresentAI строит презентации из PDF, DOCX, PPTX и веб-страниц, "
    "и каждый пункт слайда ссылается на источник [1]."
)
GPT_REPLY = "GPT: презентации строятся из PDF, DOCX, PPTX и веб-страниц [1]."


@dataclass
class Event:
    name: str
    data: dict[str, Any]
    at: float  # time.monotonic() when it arrived


class SiteServer(ServerThread):
    """`create_app(runtime)` on a real loopback socket; the runtime lives in the server's loop."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = Runtime.build(settings)
        super().__init__(create_app(self.runtime))
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        finally:
            await self.runtime.close()  # waits for answers still being written


@pytest.fixture(scope="module")
def llms() -> Iterator[tuple[FakeLLM, str, FakeLLM, str]]:
    claude, gpt = FakeLLM(), FakeLLM()
    with ServerThread(claude.app()) as a, ServerThread(gpt.app()) as b:
        yield claude, a.url, gpt, b.url


@pytest.fixture
def claude(llms: tuple[FakeLLM, str, FakeLLM, str]) -> FakeLLM:
    return llms[0]


@pytest.fixture
def gpt(llms: tuple[FakeLLM, str, FakeLLM, str]) -> FakeLLM:
    return llms[2]


@pytest.fixture(autouse=True)
def _healthy(claude: FakeLLM, gpt: FakeLLM) -> None:
    for fake, reply in ((claude, CLAUDE_REPLY), (gpt, GPT_REPLY)):
        fake.reply = reply
        fake.fail_mode = None
        fake.fail_times = None
        fake.failures = 0
        fake.ttft_s = fake.chunk_interval_s = 0.0
        fake.received.clear()


@pytest.fixture
def chain() -> list[str]:
    return ["anthropic"]


@pytest.fixture
def settings_overrides(llms: tuple[FakeLLM, str, FakeLLM, str], chain: list[str]) -> dict[str, Any]:
    _, claude_url, _, gpt_url = llms
    return {
        "llm": {
            "fallback_chain": chain,
            "anthropic_api_key": "sk-ant-test",
            "anthropic_base_url": claude_url,
            "openai_api_key": "sk-test",
            "openai_base_url": gpt_url + "/v1",
            "timeout_seconds": 5,
            "retry_attempts": 1,
        }
    }


@pytest.fixture
async def avatar_id(settings: Settings, backend: str) -> uuid.UUID:
    """A bot with the default knowledge, made before the server starts."""
    setup = Runtime.build(settings)
    try:
        if backend == "postgres":
            await setup.limiter.reset()
            await truncate_all(setup)
        return await make_avatar(setup)
    finally:
        await setup.close()


@pytest.fixture
async def site(settings: Settings, avatar_id: uuid.UUID) -> AsyncIterator[httpx.AsyncClient]:
    with SiteServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            yield client


async def read_events(
    response: httpx.Response, *, until: str | None = None, limit_s: float = 10.0
) -> list[Event]:
    """The stream's events as they arrive; stop after the first `until` event if given."""
    assert response.status_code == 200, (await response.aread()).decode()
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    events: list[Event] = []
    name, data = "message", []
    async with asyncio.timeout(limit_s):
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
            elif line == "" and data:
                events.append(Event(name, json.loads("\n".join(data)), time.monotonic()))
                if name == until:
                    break
                name, data = "message", []
    return events


async def open_session(site: httpx.AsyncClient, avatar_id: uuid.UUID, ip: str) -> str:
    response = await site.post(f"/api/v1/chat/{avatar_id}/sessions", headers=from_ip(ip))
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


async def stream(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, session_id: str, ip: str, question: str
) -> list[Event]:
    async with site.stream(
        "POST",
        f"/api/v1/chat/{avatar_id}/stream",
        params={"session_id": session_id, "content": question},
        headers=from_ip(ip),
    ) as response:
        return await read_events(response)


async def history(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, session_id: str, ip: str
) -> list[dict[str, Any]]:
    response = await site.get(
        f"/api/v1/chat/{avatar_id}/sessions/{session_id}/messages", headers=from_ip(ip)
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def names(events: list[Event]) -> list[str]:
    return [event.name for event in events]


def text_of(events: list[Event]) -> str:
    return "".join(event.data["content"] for event in events if event.name == "chunk")


async def test_events_arrive_in_order_as_they_are_written(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, claude: FakeLLM
) -> None:
    claude.ttft_s, claude.chunk_interval_s = 0.6, 0.04
    ip = "203.0.113.10"
    session_id = await open_session(site, avatar_id, ip)
    events = await stream(site, avatar_id, session_id, ip, PRICE_QUESTION)

    order = names(events)
    assert order[0] == "message_received", order
    assert order[1] == "sources", order
    assert order[-1] == "done", order
    assert set(order[2:-1]) == {"chunk"} and len(order) > 5, order
    received, sources, done = events[0].data, events[1].data, events[-1].data
    assert set(received) == {"message_id"} and UUID_RE.match(received["message_id"]), received
    assert set(sources) == {"sources"} and sources["sources"], sources
    assert any("2900" in json.dumps(s, ensure_ascii=False) for s in sources["sources"]), sources
    for chunk in events[2:-1]:
        assert set(chunk.data) == {"content"} and chunk.data["content"], chunk
    assert {"message_id", "tokens_used"} <= set(done), done
    assert UUID_RE.match(done["message_id"]) and done["message_id"] != received["message_id"]
    assert isinstance(done["tokens_used"], int) and done["tokens_used"] > 0, done
    assert text_of(events).startswith(CLAUDE_REPLY), text_of(events)

    # Streamed, not buffered: the question is acknowledged before the model's first token, and
    # the text arrives piece by piece.
    first_chunk = next(e for e in events if e.name == "chunk")
    assert first_chunk.at - events[0].at > 0.3, first_chunk.at - events[0].at
    assert events[-1].at - first_chunk.at > 0.2, events[-1].at - first_chunk.at

    question, answer = await history(site, avatar_id, session_id, ip)
    assert (question["id"], question["role"], question["content"]) == (
        received["message_id"],
        "user",
        PRICE_QUESTION,
    )
    assert answer["id"] == done["message_id"] and answer["role"] == "assistant"
    assert answer["status"] == "complete"
    assert answer["content"] == text_of(events)
    assert answer["tokens_used"] == done["tokens_used"]
    assert answer["sources"] == sources["sources"]
    assert len(claude.received) == 1 and claude.received[0].body.get("stream") is True


async def test_a_visitor_who_leaves_mid_stream_still_gets_the_whole_answer_stored(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, claude: FakeLLM
) -> None:
    claude.chunk_interval_s = 0.08  # about 1.6 s for the whole answer
    ip = "203.0.113.11"
    session_id = await open_session(site, avatar_id, ip)
    async with site.stream(
        "POST",
        f"/api/v1/chat/{avatar_id}/stream",
        params={"session_id": session_id, "content": FORMATS_QUESTION},
        headers=from_ip(ip),
    ) as response:
        seen = await read_events(response, until="chunk")
    left_at = time.monotonic()  # the connection is closed: the tab was closed
    assert names(seen) == ["message_received", "sources", "chunk"], names(seen)

    question, answer = await history(site, avatar_id, session_id, ip)
    assert question["id"] == seen[0].data["message_id"] and question["content"] == FORMATS_QUESTION
    assert answer["role"] == "assistant" and answer["status"] == "generating", answer

    while answer["status"] == "generating" and time.monotonic() - left_at < 8:
        await asyncio.sleep(0.1)
        answer = (await history(site, avatar_id, session_id, ip))[1]
    assert answer["status"] == "complete", answer
    assert answer["content"] == CLAUDE_REPLY, answer
    assert isinstance(answer["tokens_used"], int), answer
    assert answer["tokens_used"] > len(CLAUDE_REPLY.split()), answer
    assert answer["sources"] == seen[1].data["sources"], answer

    # The conversation goes on, and the model sees the answer the visitor missed.
    claude.chunk_interval_s = 0.0
    events = await stream(site, avatar_id, session_id, ip, "А PPTX тоже подходит?")
    assert names(events)[-1] == "done", names(events)
    prompt = [m["content"] for m in claude.received[-1].messages]
    assert CLAUDE_REPLY in json.dumps(prompt, ensure_ascii=False)
    assert len(await history(site, avatar_id, session_id, ip)) == 4


async def test_a_provider_failure_ends_the_stream_with_an_error_event(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, claude: FakeLLM, gpt: FakeLLM
) -> None:
    claude.fail_mode = "500"
    ip = "203.0.113.12"
    session_id = await open_session(site, avatar_id, ip)
    events = await stream(site, avatar_id, session_id, ip, FORMATS_QUESTION)

    order = names(events)
    assert order[0] == "message_received" and order[-1] == "error", order
    assert "done" not in order and "chunk" not in order, order
    error = events[-1].data
    assert {"message_id", "code", "message"} <= set(error), error
    assert UUID_RE.match(error["message_id"]), error
    assert isinstance(error["code"], str) and error["code"] == error["code"].upper(), error
    assert error["code"], error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert len(claude.received) == 1 and gpt.received == []  # no fallback configured

    question, answer = await history(site, avatar_id, session_id, ip)
    assert question["id"] == events[0].data["message_id"]
    assert answer["id"] == error["message_id"]
    assert answer["status"] == "failed", answer
    assert answer["content"].strip() and CLAUDE_REPLY not in answer["content"], answer


@pytest.mark.parametrize("chain", [["anthropic", "openai"]])
async def test_when_the_first_provider_fails_the_second_answers_the_stream(
    site: httpx.AsyncClient, avatar_id: uuid.UUID, claude: FakeLLM, gpt: FakeLLM
) -> None:
    claude.fail_mode = "500"
    gpt.chunk_interval_s = 0.01
    ip = "203.0.113.13"
    session_id = await open_session(site, avatar_id, ip)
    events = await stream(site, avatar_id, session_id, ip, FORMATS_QUESTION)

    order = names(events)
    assert order[:2] == ["message_received", "sources"] and order[-1] == "done", order
    assert "error" not in order, events[-1]
    assert text_of(events) == GPT_REPLY
    assert len(claude.received) == 1 and len(gpt.received) == 1
    assert gpt.received[0].body.get("stream") is True

    answer = (await history(site, avatar_id, session_id, ip))[1]
    assert answer["status"] == "complete" and answer["content"] == GPT_REPLY, answer
    assert answer["tokens_used"] == events[-1].data["tokens_used"] > 0
