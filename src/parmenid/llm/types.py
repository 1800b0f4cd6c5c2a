"""Provider-neutral chat types shared by every LLM provider and the gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]

ErrorKind = Literal["rate_limited", "server_error", "timeout", "connection", "bad_request", "auth"]

RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"rate_limited", "server_error", "timeout", "connection"}
)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call.

    `model=None` means the provider's `default_model`. With `json_schema` the provider forces
    structured output and `Completion.data` holds the parsed JSON. `context` lists the source
    passages the prompt was built from: remote models read them in the prompt, the local
    extractive engine reads them from here. `hints` are the task's parameters in plain form
    (topic, slide count, slide title, ...): remote models read them in the rendered prompt, the
    local engine, which cannot read a prompt, reads them from here.
    """

    messages: list[ChatMessage]
    model: str | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    json_schema: dict[str, Any] | None = None
    schema_name: str = "result"
    stop: list[str] | None = None
    context: list[ContextPassage] = field(default_factory=list)
    hints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContextPassage:
    id: str
    text: str
    citation: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage
    model: str
    provider: str
    finish_reason: str | None = None
    data: dict[str, Any] | list[Any] | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    usage: Usage
    model: str
    provider: str
    finish_reason: str | None = None


StreamEvent = TextDelta | StreamEnd


@dataclass(eq=False)
class ProviderError(Exception):
    """A provider call failed. `retryable` is True for 429, 5xx, timeouts and connection errors.

    `retry_after` (seconds) comes from the provider's `Retry-After` header when it sent one.
    """

    provider: str
    kind: ErrorKind
    message: str = ""
    status: int | None = None
    retry_after: float | None = None
    retryable: bool = field(init=False)

    def __post_init__(self) -> None:
        self.retryable = self.kind in RETRYABLE_KINDS
        super().__init__(self.message or self.kind)

    def __str__(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        return f"{self.provider}: {self.kind}{status}: {self.message}"
