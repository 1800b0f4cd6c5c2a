"""The gateway over the real SDK providers, against two fake LLM servers on real sockets:
Claude down → GPT-4o answers (fallback in the trace); both down → 503 `llm_unavailable`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from parmenid.config import LLMSettings
from parmenid.llm import ChatMessage, ChatRequest, StreamEnd, TextDelta
from parmenid.llm.errors import LLMUnavailable
from parmenid.llm.gateway import CallContext, RetryPolicy
from parmenid.llm.models import LLMTrace
from parmenid.llm.setup import build_gateway, build_providers
from parmenid.runtime import Runtime
from tests.fakes.llm_server import FakeLLM
from tests.fakes.server import ServerThread

REQUEST = ChatRequest([ChatMessage("user", "Summarise the report")], max_tokens=64)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeLLM, str, FakeLLM, str]]:
    claude, gpt = FakeLLM(reply="Claude says hi."), FakeLLM(reply="GPT says hi.")
    with ServerThread(claude.app()) as a, ServerThread(gpt.app()) as b:
        yield claude, a.url, gpt, b.url


def _settings(servers: tuple[FakeLLM, str, FakeLLM, str]) -> LLMSettings:
    _, claude_url, _, gpt_url = servers
    return LLMSettings(
        anthropic_api_key="sk-ant-test",  # type: ignore[arg-type]
        anthropic_base_url=claude_url,
        openai_api_key="sk-test",  # type: ignore[arg-type]
        openai_base_url=gpt_url + "/v1",
        timeout_seconds=2,
        retry_attempts=2,
    )


@pytest.fixture(autouse=True)
def _healthy(servers: tuple[FakeLLM, str, FakeLLM, str]) -> None:
    for fake in (servers[0], servers[2]):
        fake.fail_mode = None
        fake.received.clear()


def test_the_chain_follows_the_settings(servers: tuple[FakeLLM, str, FakeLLM, str]) -> None:
    settings = _settings(servers)
    assert [p.name for p in build_providers(settings)] == ["anthropic", "openai"]
    settings.fallback_chain = ["openai", "anthropic"]
    assert [p.name for p in build_providers(settings)] == ["openai", "anthropic"]
    assert build_providers(LLMSettings()) == []  # nothing configured: the local engine answers


async def test_claude_down_gpt_answers(
    runtime: Runtime, servers: tuple[FakeLLM, str, FakeLLM, str]
) -> None:
    claude = servers[0]
    claude.fail_mode = "500"
    gateway = build_gateway(_settings(servers), runtime.db)
    assert gateway is not None
    gateway.retry = RetryPolicy(attempts=2, backoff_base=0.01, backoff_max=0.02)
    completion = await gateway.complete(REQUEST, CallContext(purpose="outline"))
    assert completion.text == "GPT says hi."
    assert completion.provider == "openai"
    assert len(claude.received) == 2  # retried once, then fell back
    async with runtime.db.session() as session:
        trace = await session.scalar(select(LLMTrace))
    assert trace is not None
    assert trace.fallback_triggered is True
    assert trace.provider == "openai" and trace.model == "gpt-4o"
    assert trace.output_tokens > 0
    await gateway.close()


async def test_streaming_through_the_gateway(
    runtime: Runtime, servers: tuple[FakeLLM, str, FakeLLM, str]
) -> None:
    gateway = build_gateway(_settings(servers), runtime.db)
    assert gateway is not None
    events = [e async for e in gateway.stream(REQUEST, CallContext(source="chat"))]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Claude says hi."
    assert isinstance(events[-1], StreamEnd)
    await gateway.close()


async def test_both_down_is_llm_unavailable(
    runtime: Runtime, servers: tuple[FakeLLM, str, FakeLLM, str]
) -> None:
    servers[0].fail_mode = "429"
    servers[0].retry_after = 0.01
    servers[2].fail_mode = "500"
    gateway = build_gateway(_settings(servers), runtime.db)
    assert gateway is not None
    gateway.retry = RetryPolicy(attempts=2, backoff_base=0.01, backoff_max=0.02)
    with pytest.raises(LLMUnavailable) as caught:
        await gateway.complete(REQUEST, CallContext())
    assert caught.value.extra == {"retry_after": 60}
    async with runtime.db.session() as session:
        trace = await session.scalar(select(LLMTrace))
    assert trace is not None and trace.fallback_triggered is False and trace.error
    await gateway.close()


async def test_with_no_provider_configured_the_local_engine_answers(runtime: Runtime) -> None:
    from parmenid.llm.types import ContextPassage

    gateway = build_gateway(LLMSettings(), runtime.db)
    request = ChatRequest(
        [ChatMessage("user", "What limit applies to all lines?")],
        context=[
            ContextPassage("c1", "Limit all lines to a maximum of 79 characters.", "pep8, p. 4"),
            ContextPassage("c2", "Use 4 spaces per indentation level.", "pep8, p. 2"),
        ],
    )
    completion = await gateway.complete(request, CallContext(source="chat"))
    assert completion.provider == "local"
    assert "79 characters" in completion.text and "pep8, p. 4" in completion.text
    streamed = [e async for e in gateway.stream(request, CallContext(source="chat"))]
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == completion.text
    async with runtime.db.session() as session:
        providers = set((await session.scalars(select(LLMTrace.provider))).all())
    assert providers == {"local"}
