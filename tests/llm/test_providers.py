"""The SDK-based providers (official `anthropic` and `openai` SDKs) against the local fake LLM
server on a real socket: replies, structured output, streaming, usage and error mapping."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from parmenid.llm import ChatMessage, ChatRequest, ProviderError, StreamEnd, TextDelta
from parmenid.llm.providers import LLMProvider, parse_retry_after
from parmenid.llm.providers.anthropic import AnthropicProvider
from parmenid.llm.providers.embeddings import OpenAIEmbeddings
from parmenid.llm.providers.openai import OpenAICompatibleProvider, OpenAIProvider
from tests.fakes.llm_server import FakeLLM
from tests.fakes.server import ServerThread, free_port

KINDS = ["anthropic", "openai", "openai_compatible"]
REPLY = "Quarterly revenue grew by twelve percent, driven by the enterprise segment."
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "slides": {"type": "integer", "minimum": 3},
        "bullets": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "tone": {"enum": ["formal", "casual"]},
    },
    "required": ["title", "slides", "bullets", "tone"],
    "additionalProperties": False,
}

Factory = Callable[..., LLMProvider]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def fake(shared: tuple[FakeLLM, str]) -> FakeLLM:
    """The shared fake, reset to its defaults for each test."""
    fake, _ = shared
    fake.__dict__.update(FakeLLM(reply=REPLY).__dict__)
    return fake


@pytest.fixture
async def make(shared: tuple[FakeLLM, str]) -> AsyncIterator[Factory]:
    created: list[LLMProvider] = []

    def factory(kind: str, timeout: float = 5.0, url: str | None = None) -> LLMProvider:
        base = url or shared[1]
        provider: LLMProvider
        if kind == "anthropic":
            provider = AnthropicProvider("test-key", base_url=base, timeout=timeout)
        elif kind == "openai":
            provider = OpenAIProvider("test-key", base_url=f"{base}/v1", timeout=timeout)
        else:
            provider = OpenAICompatibleProvider(f"{base}/v1", "llama3", timeout=timeout)
        created.append(provider)
        return provider

    yield factory
    for provider in created:
        await provider.close()


def chat(**kwargs: Any) -> ChatRequest:
    return ChatRequest(
        [ChatMessage("system", "You are terse."), ChatMessage("user", "Summarize the report.")],
        **kwargs,
    )


async def failure(provider: LLMProvider, request: ChatRequest, stream: bool) -> ProviderError:
    async def call() -> None:
        if stream:
            async for _ in provider.stream(request):
                pass
        else:
            await provider.complete(request)

    with pytest.raises(ProviderError) as caught:
        await call()
    return caught.value


@pytest.mark.parametrize("kind", KINDS)
async def test_complete_returns_text_usage_and_sends_system_prompt(
    kind: str, fake: FakeLLM, make: Factory
) -> None:
    provider = make(kind)
    completion = await provider.complete(chat(max_tokens=50, temperature=0.2))

    assert completion.text == REPLY
    assert completion.provider == kind
    assert completion.model == provider.default_model
    assert completion.usage.output_tokens == len(REPLY.split())
    assert completion.usage.input_tokens > 0
    assert completion.finish_reason in ("end_turn", "stop")
    assert completion.data is None
    sent = fake.received[-1]
    assert sent.system == "You are terse."
    assert sent.body["max_tokens"] == 50
    if kind == "anthropic":
        assert sent.messages == [{"role": "user", "content": "Summarize the report."}]
        assert sent.headers.get("authorization") == "Bearer test-key" or (
            sent.headers.get("x-api-key") == "test-key"
        )


@pytest.mark.parametrize("kind", KINDS)
async def test_structured_output_matches_the_schema(
    kind: str, fake: FakeLLM, make: Factory
) -> None:
    completion = await make(kind).complete(chat(json_schema=SCHEMA, schema_name="outline"))

    data = completion.data
    assert isinstance(data, dict)
    assert set(data) == {"title", "slides", "bullets", "tone"}
    assert isinstance(data["title"], str)
    assert isinstance(data["slides"], int)
    assert data["slides"] >= 3
    assert len(data["bullets"]) >= 2
    assert data["tone"] == "formal"
    body = fake.received[-1].body
    if kind == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "outline"}
        assert body["tools"][0]["input_schema"] == SCHEMA
    else:
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True


async def test_configured_structured_reply_is_returned(fake: FakeLLM, make: Factory) -> None:
    fake.structured = {"title": "Q3", "slides": 7, "bullets": ["a", "b"], "tone": "casual"}
    completion = await make("anthropic").complete(chat(json_schema=SCHEMA))
    assert completion.data == fake.structured


async def test_compatible_server_without_json_schema_falls_back_to_json_object(
    fake: FakeLLM, make: Factory
) -> None:
    fake.reject_json_schema = True
    provider = make("openai_compatible")

    completion = await provider.complete(chat(json_schema=SCHEMA))

    assert isinstance(completion.data, dict)
    first, second = fake.received[-2:]
    assert first.body["response_format"]["type"] == "json_schema"
    assert second.body["response_format"] == {"type": "json_object"}
    assert second.system is not None
    assert '"bullets"' in second.system
    await provider.complete(chat(json_schema=SCHEMA))  # remembered: no second 400
    assert fake.received[-1].body["response_format"] == {"type": "json_object"}


async def test_openai_proper_does_not_fall_back(fake: FakeLLM, make: Factory) -> None:
    fake.reject_json_schema = True
    error = await failure(make("openai"), chat(json_schema=SCHEMA), stream=False)
    assert (error.kind, error.status, error.retryable) == ("bad_request", 400, False)


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_yields_deltas_then_usage(kind: str, fake: FakeLLM, make: Factory) -> None:
    fake.ttft_s = 0.3
    fake.chunk_interval_s = 0.01
    started = time.monotonic()
    first_at: float | None = None
    deltas: list[str] = []
    ends: list[StreamEnd] = []

    async for event in make(kind).stream(chat()):
        if isinstance(event, TextDelta):
            first_at = first_at or time.monotonic() - started
            deltas.append(event.text)
        else:
            ends.append(event)

    assert "".join(deltas) == REPLY
    assert len(deltas) == len(REPLY.split())
    assert first_at is not None
    assert 0.28 <= first_at < 1.0
    [end] = ends
    assert end.provider == kind
    assert end.usage.output_tokens == len(REPLY.split())
    assert end.usage.input_tokens > 0
    assert end.finish_reason in ("end_turn", "stop")
    if kind != "anthropic":
        assert fake.received[-1].body["stream_options"] == {"include_usage": True}


async def test_anthropic_stream_with_schema_streams_the_json(fake: FakeLLM, make: Factory) -> None:
    events = [e async for e in make("anthropic").stream(chat(json_schema=SCHEMA))]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.startswith("{")
    assert '"bullets"' in text
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].finish_reason == "tool_use"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("kind", KINDS)
async def test_500_is_a_retryable_server_error(
    kind: str, stream: bool, fake: FakeLLM, make: Factory
) -> None:
    fake.fail_mode = "500"
    error = await failure(make(kind), chat(), stream)
    assert (error.kind, error.status, error.retryable) == ("server_error", 500, True)
    assert error.provider == kind


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("kind", KINDS)
async def test_429_is_retryable_with_retry_after(
    kind: str, stream: bool, fake: FakeLLM, make: Factory
) -> None:
    fake.fail_mode = "429"
    fake.retry_after = 7
    error = await failure(make(kind), chat(), stream)
    assert (error.kind, error.status, error.retryable) == ("rate_limited", 429, True)
    assert error.retry_after == 7.0


@pytest.mark.parametrize("kind", KINDS)
async def test_400_is_not_retryable(kind: str, fake: FakeLLM, make: Factory) -> None:
    fake.fail_mode = "400"
    error = await failure(make(kind), chat(), stream=False)
    assert (error.kind, error.status, error.retryable) == ("bad_request", 400, False)


@pytest.mark.parametrize("kind", KINDS)
async def test_401_is_a_non_retryable_auth_error(kind: str, fake: FakeLLM, make: Factory) -> None:
    fake.fail_mode = "401"
    error = await failure(make(kind), chat(), stream=True)
    assert (error.kind, error.status, error.retryable) == ("auth", 401, False)


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_hang_times_out_within_the_configured_timeout(
    kind: str, stream: bool, fake: FakeLLM, make: Factory
) -> None:
    fake.fail_mode = "hang"
    started = time.monotonic()
    error = await failure(make(kind, timeout=0.5), chat(), stream)
    elapsed = time.monotonic() - started
    assert (error.kind, error.status, error.retryable) == ("timeout", None, True)
    assert 0.45 <= elapsed < 2.0


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_stall_mid_stream_times_out(kind: str, fake: FakeLLM, make: Factory) -> None:
    fake.fail_mode = "stall"
    started = time.monotonic()
    error = await failure(make(kind, timeout=0.5), chat(), stream=True)
    assert (error.kind, error.retryable) == ("timeout", True)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_dropped_connection_is_a_connection_error(
    kind: str, stream: bool, fake: FakeLLM, make: Factory
) -> None:
    fake.fail_mode = "drop"
    error = await failure(make(kind), chat(), stream)
    assert (error.kind, error.retryable) == ("connection", True)


@pytest.mark.parametrize("kind", KINDS)
async def test_connection_refused_is_a_connection_error(kind: str, make: Factory) -> None:
    provider = make(kind, url=f"http://127.0.0.1:{free_port()}")
    error = await failure(provider, chat(), stream=False)
    assert (error.kind, error.status, error.retryable) == ("connection", None, True)


async def test_fail_times_fails_only_the_first_requests(fake: FakeLLM, make: Factory) -> None:
    fake.fail_mode = "500"
    fake.fail_times = 2
    provider = make("anthropic")
    for _ in range(2):
        await failure(provider, chat(), stream=False)
    assert (await provider.complete(chat())).text == REPLY
    assert len(fake.received) == 3  # the SDK itself never retried


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    when = parse_retry_after({"retry-after": in_a_minute})
    assert when is not None
    assert 55 < when <= 60


async def test_embeddings_are_deterministic_unit_vectors_in_batches(
    shared: tuple[FakeLLM, str], fake: FakeLLM
) -> None:
    fake.embedding_dim = 32
    embeddings = OpenAIEmbeddings("test-key", base_url=f"{shared[1]}/v1", model="bge-m3")
    try:
        texts = [f"chunk number {i}" for i in range(300)]
        vectors = await embeddings.embed(texts)
        again = await embeddings.embed(["chunk number 5", "something else"])
    finally:
        await embeddings.close()

    assert len(vectors) == 300
    assert all(len(v) == 32 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-5)
    assert again[0] == pytest.approx(vectors[5], abs=1e-6)
    assert vectors[0] != vectors[1]
    batches = [r for r in fake.received if r.path == "/v1/embeddings"]
    assert [len(r.body["input"]) for r in batches] == [128, 128, 44, 2]
    assert batches[0].model == "bge-m3"
    assert "dimensions" not in batches[0].body


async def test_embeddings_dimensions_and_errors(shared: tuple[FakeLLM, str], fake: FakeLLM) -> None:
    embeddings = OpenAIEmbeddings("test-key", base_url=f"{shared[1]}/v1", dimensions=256)
    try:
        [vector] = await embeddings.embed(["hello"])
        assert len(vector) == 256
        assert fake.received[-1].body["model"] == "text-embedding-3-large"
        assert await embeddings.embed([]) == []
        fake.fail_mode = "429"
        fake.retry_after = 3
        with pytest.raises(ProviderError) as caught:
            await embeddings.embed(["hello"])
    finally:
        await embeddings.close()
    assert (caught.value.kind, caught.value.retryable, caught.value.retry_after) == (
        "rate_limited",
        True,
        3.0,
    )
