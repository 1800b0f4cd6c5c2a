"""The gateway's rules with scripted providers: retries, breaker, fallback, quotas, traces."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from parmenid.core.db import Database
from parmenid.identity.models import Organization
from parmenid.llm.breaker import BreakerState, CircuitBreaker
from parmenid.llm.errors import LLMUnavailable, TokenLimitExceeded
from parmenid.llm.gateway import CallContext, LLMGateway, RetryPolicy
from parmenid.llm.models import LLMTrace
from parmenid.llm.quotas import QuotaLedger
from parmenid.llm.types import (
    ChatMessage,
    ChatRequest,
    Completion,
    ErrorKind,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from parmenid.runtime import Runtime

FAST = RetryPolicy(attempts=3, backoff_base=0.001, backoff_max=0.01, deadline=5)
REQUEST = ChatRequest([ChatMessage("user", "Hello there")], max_tokens=50)


@dataclass
class Scripted:
    """A provider that plays a script: "ok" or an error kind per call, then "ok" forever."""

    name: str
    script: list[str] = field(default_factory=list)
    calls: int = 0
    delay: float = 0.0
    default_model: str = "scripted-1"

    def _next(self) -> str:
        self.calls += 1
        return self.script.pop(0) if self.script else "ok"

    async def complete(self, request: ChatRequest) -> Completion:
        outcome = self._next()
        if self.delay:
            await asyncio.sleep(self.delay)
        if outcome != "ok":
            raise ProviderError(self.name, _kind(outcome), outcome, retry_after=None)
        return Completion("hi", Usage(10, 20), self.default_model, self.name, "stop")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        outcome = self._next()
        if outcome.startswith("mid-"):
            yield TextDelta("partial ")
            raise ProviderError(self.name, _kind(outcome[4:]), outcome)
        if outcome != "ok":
            raise ProviderError(self.name, _kind(outcome), outcome)
        for word in ("one ", "two ", "three"):
            yield TextDelta(word)
        yield StreamEnd(Usage(10, 3), self.default_model, self.name, "stop")

    async def close(self) -> None:
        return None


def _kind(outcome: str) -> ErrorKind:
    return {
        "500": "server_error",
        "429": "rate_limited",
        "timeout": "timeout",
        "400": "bad_request",
    }[outcome]  # type: ignore[return-value]


async def traces(db: Database) -> list[LLMTrace]:
    async with db.session() as session:
        return list((await session.scalars(select(LLMTrace).order_by(LLMTrace.created_at))).all())


async def test_retryable_errors_are_retried_on_the_same_provider(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["500", "429"]), Scripted("openai")
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST)
    completion = await gateway.complete(REQUEST, CallContext(purpose="outline"))
    assert completion.provider == "anthropic"
    assert (claude.calls, gpt.calls) == (3, 0)
    [trace] = await traces(runtime.db)
    assert (trace.provider, trace.attempts, trace.fallback_triggered) == ("anthropic", 3, False)
    assert (trace.input_tokens, trace.output_tokens, trace.purpose) == (10, 20, "outline")


async def test_a_non_retryable_error_falls_back_at_once(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["400"]), Scripted("openai")
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST)
    completion = await gateway.complete(REQUEST, CallContext())
    assert completion.provider == "openai"
    assert (claude.calls, gpt.calls) == (1, 1)
    [trace] = await traces(runtime.db)
    assert trace.fallback_triggered is True
    assert trace.providers_tried == "anthropic,openai"


async def test_all_providers_down_is_503_llm_unavailable(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["500"] * 3), Scripted("openai", ["timeout"] * 3)
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST)
    with pytest.raises(LLMUnavailable) as caught:
        await gateway.complete(REQUEST, CallContext())
    assert caught.value.status == 503
    assert caught.value.extra == {"retry_after": 60}
    [trace] = await traces(runtime.db)
    assert trace.fallback_triggered is False  # the contract: both unavailable
    assert trace.provider is None
    assert "anthropic" in (trace.error or "") and "openai" in (trace.error or "")


def test_breaker_opens_then_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, cooldown=10, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    now[0] = 10.5
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    now[0] = 21
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


async def test_an_open_breaker_skips_the_provider(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["500"] * 6), Scripted("openai")
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST, breaker_threshold=3)
    await gateway.complete(REQUEST, CallContext())  # 3 failures open Claude's breaker
    assert claude.calls == 3
    completion = await gateway.complete(REQUEST, CallContext())
    assert completion.provider == "openai"
    assert claude.calls == 3  # not even tried


async def test_stream_falls_back_before_the_first_delta(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["400"]), Scripted("openai")
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST)
    events = [event async for event in gateway.stream(REQUEST, CallContext(source="chat"))]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "one two three"
    assert isinstance(events[-1], StreamEnd) and events[-1].provider == "openai"
    [trace] = await traces(runtime.db)
    assert trace.streamed and trace.fallback_triggered and trace.ttft_ms is not None


async def test_a_stream_that_fails_after_text_does_not_switch_provider(runtime: Runtime) -> None:
    claude, gpt = Scripted("anthropic", ["mid-500"]), Scripted("openai")
    gateway = LLMGateway([claude, gpt], runtime.db, retry=FAST)
    received: list[str] = []

    async def consume() -> None:
        async for event in gateway.stream(REQUEST, CallContext()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    with pytest.raises(ProviderError):
        await consume()
    assert received == ["partial "]
    assert gpt.calls == 0


async def _organization(db: Database, plan: str = "free") -> uuid.UUID:
    org = Organization(name="Quota test", slug=f"quota-{uuid.uuid4().hex[:8]}", plan=plan)
    async with db.session() as session:
        session.add(org)
    return org.id


async def test_quota_is_never_overrun_by_more_than_one_call(runtime: Runtime) -> None:
    org = await _organization(runtime.db)
    limit = 1000
    ledger = QuotaLedger(runtime.db, {"free": limit})
    gateway = LLMGateway([Scripted("anthropic", delay=0.01)], runtime.db, quotas=ledger, retry=FAST)
    context = CallContext(organization_id=org, source="chat")

    async def one() -> str:
        try:
            await gateway.complete(REQUEST, context)
        except TokenLimitExceeded:
            return "refused"
        return "ok"

    # Rounds of 50 concurrent calls until the month is used up.
    per_call = 30  # Usage(10, 20)
    estimate = 2 + REQUEST.max_tokens  # what each call reserves
    accepted = 0
    for _ in range(20):
        outcomes = await asyncio.gather(*(one() for _ in range(50)))
        accepted += outcomes.count("ok")
        if outcomes.count("ok") == 0:
            break
    usage = await ledger.usage(org)
    assert usage.reserved == 0
    assert usage.used == accepted * per_call
    assert limit <= usage.used <= limit + estimate  # overrun by at most one call
    with pytest.raises(TokenLimitExceeded) as caught:
        await gateway.complete(REQUEST, context)
    assert caught.value.status == 429
    assert caught.value.extra["limit"] == limit


async def test_a_failed_call_gives_its_reservation_back(runtime: Runtime) -> None:
    org = await _organization(runtime.db)
    ledger = QuotaLedger(runtime.db, {"free": 10_000})
    gateway = LLMGateway([Scripted("anthropic", ["400"])], runtime.db, quotas=ledger, retry=FAST)
    with pytest.raises(LLMUnavailable):
        await gateway.complete(REQUEST, CallContext(organization_id=org))
    usage = await ledger.usage(org)
    assert (usage.used, usage.reserved) == (0, 0)
