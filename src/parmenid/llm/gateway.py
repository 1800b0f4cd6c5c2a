"""The LLM gateway: one entry point for every model call of both products.

For each call it
1. reserves the organization's tokens (prompt estimate + `max_tokens`), or refuses with 429
   `token_limit_exceeded`;
2. walks the fallback chain (by default Claude, then GPT-4o), skipping providers whose circuit
   breaker is open; on each provider it retries only retryable errors (429, 5xx, timeouts,
   connection errors) with jittered exponential backoff, honouring `Retry-After`, within an
   overall deadline;
3. settles the reservation with the real usage (or releases it on failure) and stores a trace:
   provider, model, template and version, latency, time to first token, tokens, attempts, error
   and whether fallback was triggered;
4. when every provider failed, raises 503 `llm_unavailable` with `retry_after: 60`.

A stream can fall back or retry only before its first text delta; after that a failure ends the
stream with the error (the caller has already shown text to someone).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from parmenid.core.db import Database
from parmenid.knowledge.chunking import count_tokens
from parmenid.llm.breaker import CircuitBreaker
from parmenid.llm.errors import llm_unavailable
from parmenid.llm.models import LLMTrace
from parmenid.llm.prompts import Prompt
from parmenid.llm.providers import LLMProvider
from parmenid.llm.quotas import QuotaLedger, Reservation
from parmenid.llm.types import (
    ChatRequest,
    Completion,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)

log = logging.getLogger("parmenid.llm")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # per provider
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    deadline: float = 90.0  # for the whole call, all providers included

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class CallContext:
    """Who a call is for and why, for quotas and traces."""

    organization_id: uuid.UUID | None = None
    source: str = "generation"  # generation | chat | ...
    purpose: str = "completion"  # outline | slide | chat_answer | ...
    prompt: Prompt | None = None
    request_id: str | None = None


@dataclass
class _Attempts:
    count: int = 0
    tried: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class LLMGateway:
    def __init__(
        self,
        providers: Sequence[LLMProvider],
        db: Database,
        *,
        quotas: QuotaLedger | None = None,
        retry: RetryPolicy | None = None,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
    ) -> None:
        if not providers:
            raise ValueError("the gateway needs at least one provider")
        self.providers = list(providers)
        self.db = db
        self.quotas = quotas
        self.retry = retry or RetryPolicy()
        self.breakers = {
            p.name: CircuitBreaker(breaker_threshold, breaker_cooldown) for p in self.providers
        }

    def unavailable_for(self) -> float | None:
        """None while some provider may be called; else the seconds until the first circuit
        breaker lets a trial call through (every provider's breaker is open)."""
        waits = [breaker.opens_in() for breaker in self.breakers.values()]
        return None if any(wait <= 0 for wait in waits) else min(waits)

    async def complete(self, request: ChatRequest, context: CallContext) -> Completion:
        reservation = await self._reserve(request, context)
        started = time.perf_counter()
        attempts = _Attempts()
        try:
            async with asyncio.timeout(self.retry.deadline):
                for index, provider in enumerate(self.providers):
                    completion = await self._try_provider(provider, request, attempts)
                    if completion is not None:
                        await self._finish(
                            reservation,
                            context,
                            attempts,
                            started,
                            completion.usage,
                            provider=completion.provider,
                            model=completion.model,
                            fallback=index > 0,
                        )
                        return completion
        except TimeoutError:
            attempts.errors.append("deadline exceeded")
        await self._fail(reservation, context, attempts, started, streamed=False)
        raise llm_unavailable()

    async def stream(
        self, request: ChatRequest, context: CallContext
    ) -> AsyncIterator[StreamEvent]:
        """Text deltas, then one `StreamEnd`. Fallback happens only before the first delta."""
        reservation = await self._reserve(request, context)
        started = time.perf_counter()
        attempts = _Attempts()
        for index, provider in enumerate(self.providers):
            breaker = self.breakers[provider.name]
            for attempt in range(1, self.retry.attempts + 1):
                if not breaker.allow():
                    attempts.errors.append(f"{provider.name}: circuit open")
                    break
                attempts.count += 1
                attempts.tried.append(provider.name)
                emitted = False
                first_token: float | None = None
                try:
                    async for event in provider.stream(request):
                        if isinstance(event, TextDelta):
                            if first_token is None:
                                first_token = time.perf_counter()
                            emitted = True
                            yield event
                        elif isinstance(event, StreamEnd):
                            breaker.record_success()
                            await self._finish(
                                reservation,
                                context,
                                attempts,
                                started,
                                event.usage,
                                provider=event.provider,
                                model=event.model,
                                fallback=index > 0,
                                first_token=first_token,
                                streamed=True,
                            )
                            yield event
                            return
                    raise ProviderError(provider.name, "server_error", "stream ended early")
                except ProviderError as exc:
                    breaker.record_failure()
                    attempts.errors.append(str(exc))
                    if emitted or not exc.retryable:
                        if emitted:
                            await self._fail(reservation, context, attempts, started, True)
                            raise
                        break
                    if attempt < self.retry.attempts:
                        await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                except BaseException:
                    breaker.release()
                    await self._fail(reservation, context, attempts, started, True)
                    raise
        await self._fail(reservation, context, attempts, started, True)
        raise llm_unavailable()

    async def _try_provider(
        self, provider: LLMProvider, request: ChatRequest, attempts: _Attempts
    ) -> Completion | None:
        breaker = self.breakers[provider.name]
        for attempt in range(1, self.retry.attempts + 1):
            if not breaker.allow():
                attempts.errors.append(f"{provider.name}: circuit open")
                return None
            attempts.count += 1
            attempts.tried.append(provider.name)
            try:
                completion = await provider.complete(request)
            except ProviderError as exc:
                breaker.record_failure()
                attempts.errors.append(str(exc))
                log.warning("LLM call failed", extra={"provider": provider.name, "error": str(exc)})
                if not exc.retryable or attempt == self.retry.attempts:
                    return None
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
            except BaseException:
                breaker.release()
                raise
            else:
                breaker.record_success()
                return completion
        return None

    async def _reserve(self, request: ChatRequest, context: CallContext) -> Reservation | None:
        if self.quotas is None or context.organization_id is None:
            return None
        estimate = sum(count_tokens(m.content) for m in request.messages) + request.max_tokens
        return await self.quotas.reserve(context.organization_id, estimate)

    async def _finish(
        self,
        reservation: Reservation | None,
        context: CallContext,
        attempts: _Attempts,
        started: float,
        usage: Usage,
        *,
        provider: str,
        model: str,
        fallback: bool,
        first_token: float | None = None,
        streamed: bool = False,
    ) -> None:
        await self._trace(
            context,
            attempts,
            started,
            provider=provider,
            model=model,
            usage=usage,
            fallback=fallback,
            first_token=first_token,
            streamed=streamed,
            settle=(reservation, usage.input_tokens + usage.output_tokens),
        )

    async def _fail(
        self,
        reservation: Reservation | None,
        context: CallContext,
        attempts: _Attempts,
        started: float,
        streamed: bool,
    ) -> None:
        await self._trace(
            context,
            attempts,
            started,
            provider=None,
            model=None,
            usage=Usage(),
            fallback=False,
            error="; ".join(attempts.errors)[-2000:] or "failed",
            streamed=streamed,
            settle=(reservation, 0),
        )

    async def _trace(
        self,
        context: CallContext,
        attempts: _Attempts,
        started: float,
        *,
        provider: str | None,
        model: str | None,
        usage: Usage,
        fallback: bool,
        first_token: float | None = None,
        streamed: bool = False,
        error: str | None = None,
        settle: tuple[Reservation | None, int] = (None, 0),
    ) -> None:
        """Settle the quota reservation (to the tokens used; 0 releases it) and store the trace,
        in one transaction. A failure to store them is logged, never raised into the call."""
        tried = list(dict.fromkeys(attempts.tried))
        reservation, used = settle
        try:
            async with self.db.session() as session:
                if reservation is not None and self.quotas is not None:
                    await self.quotas.settle(reservation, used, session)
                session.add(
                    LLMTrace(
                        organization_id=context.organization_id,
                        source=context.source,
                        purpose=context.purpose,
                        provider=provider,
                        model=model,
                        template_name=context.prompt.name if context.prompt else None,
                        template_version=context.prompt.version if context.prompt else None,
                        streamed=streamed,
                        latency_ms=round((time.perf_counter() - started) * 1000, 2),
                        ttft_ms=round((first_token - started) * 1000, 2) if first_token else None,
                        input_tokens=usage.input_tokens,
                        output_tokens=usage.output_tokens,
                        attempts=attempts.count,
                        fallback_triggered=fallback,
                        providers_tried=",".join(tried)[:200] or None,
                        error=error,
                        request_id=context.request_id,
                    )
                )
        except Exception:
            log.exception("could not store an LLM trace")

    async def close(self) -> None:
        for provider in self.providers:
            await provider.close()
