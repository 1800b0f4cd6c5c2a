"""The `LLMProvider` interface and the SDK-error mapping shared by the SDK-based providers."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from parmenid.llm.types import ChatRequest, Completion, ErrorKind, ProviderError, StreamEvent


@runtime_checkable
class LLMProvider(Protocol):
    """A chat model behind one vendor API. Providers never retry; the gateway does."""

    name: str
    default_model: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield `TextDelta`s, then exactly one `StreamEnd`; raise `ProviderError` on failure."""
        ...

    async def close(self) -> None: ...


def kind_for_status(status: int) -> ErrorKind:
    """429 → rate_limited, 408 → timeout, 5xx (incl. Anthropic's 529) → server_error,
    401/403 → auth, any other 4xx → bad_request."""
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server_error"
    if status in (401, 403):
        return "auth"
    return "bad_request"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def map_sdk_error(provider: str, exc: BaseException) -> ProviderError | None:
    """Translate an exception of a Stainless-generated SDK (anthropic, openai) to `ProviderError`.

    Both SDKs share the shape: `APIStatusError` has `status_code` and `response`,
    `APITimeoutError` is a subclass of `APIConnectionError`; a stream cut mid-body surfaces as
    an httpx transport error. Matched by class names on purpose so one mapping serves both SDKs.
    Returns None for anything else (a bug of ours must not look like a provider outage).
    """
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    if isinstance(status, int):
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        return ProviderError(
            provider,
            kind_for_status(status),
            message,
            status=status,
            retry_after=parse_retry_after(dict(headers.items())),
        )
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"APITimeoutError", "TimeoutException", "TimeoutError"}:
        return ProviderError(provider, "timeout", message)
    if names & {"APIConnectionError", "TransportError", "ConnectionError"}:
        return ProviderError(provider, "connection", message)
    if names & {"APIError", "DecodingError", "StreamError"}:
        # e.g. a malformed response body or an SSE `error` event without a status
        return ProviderError(provider, "server_error", f"{type(exc).__name__}: {message}")
    return None


__all__ = ["LLMProvider", "kind_for_status", "map_sdk_error", "parse_retry_after"]


@contextmanager
def sdk_errors(provider: str) -> Iterator[None]:
    """Re-raise an SDK or transport failure as a `ProviderError`; anything else as it is."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        mapped = map_sdk_error(provider, exc)
        if mapped is None:
            raise
        raise mapped from exc
