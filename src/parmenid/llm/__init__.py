"""LLM gateway: provider-neutral chat types and providers."""

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

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "Completion",
    "ErrorKind",
    "ProviderError",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "Usage",
]
