"""Anthropic Claude through the official `anthropic` SDK (Messages API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

import anthropic

from parmenid.llm.providers import sdk_errors
from parmenid.llm.types import (
    ChatRequest,
    Completion,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)


class AnthropicProvider:
    """Claude via `anthropic.AsyncAnthropic`.

    System messages are joined into the `system` parameter. Structured output is a single
    forced tool named `schema_name` whose `input_schema` is the JSON schema; the tool input
    becomes `Completion.data` and its JSON the text. The SDK never retries (`max_retries=0`):
    retries, breaking and fallback belong to the gateway.
    """

    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        default_model: str = "claude-sonnet-4-6",
        timeout: float = 60.0,
        max_retries: int = 0,
    ) -> None:
        self.default_model = default_model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": request.model or self.default_model,
            "max_tokens": request.max_tokens,
            "messages": [
                {"role": m.role, "content": m.content}
                for m in request.messages
                if m.role != "system"
            ],
        }
        if system:
            params["system"] = system
        if request.temperature is not None:
            # SDK 2.x dropped `temperature` from `create()`; older models still accept it
            params["extra_body"] = {"temperature": request.temperature}
        if request.stop:
            params["stop_sequences"] = request.stop
        if request.json_schema is not None:
            params["tools"] = [
                {
                    "name": request.schema_name,
                    "description": "Return the result in this structure.",
                    "input_schema": request.json_schema,
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": request.schema_name}
        return params

    def _errors(self) -> AbstractContextManager[None]:
        return sdk_errors(self.name)

    async def complete(self, request: ChatRequest) -> Completion:
        with self._errors():
            message = await self._client.messages.create(**self._params(request), stream=False)
        texts: list[str] = []
        data: dict[str, Any] | list[Any] | None = None
        for block in message.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use" and request.json_schema is not None:
                data = block.input if isinstance(block.input, dict | list) else None
        if request.json_schema is not None and data is None:
            raise ProviderError(self.name, "server_error", "no tool_use block in the reply")
        text = json.dumps(data, ensure_ascii=False) if data is not None else "".join(texts)
        return Completion(
            text=text,
            usage=Usage(message.usage.input_tokens, message.usage.output_tokens),
            model=message.model,
            provider=self.name,
            finish_reason=message.stop_reason,
            data=data,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Text deltas (or, with a schema, the tool input's JSON fragments), then `StreamEnd`."""
        model = request.model or self.default_model
        input_tokens = output_tokens = 0
        finish_reason: str | None = None
        with self._errors():
            events = await self._client.messages.create(**self._params(request), stream=True)
            async with events:
                async for event in events:
                    if event.type == "message_start":
                        model = event.message.model
                        input_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens
                    elif event.type == "content_block_delta":
                        if event.delta.type == "text_delta" and event.delta.text:
                            yield TextDelta(event.delta.text)
                        elif event.delta.type == "input_json_delta" and event.delta.partial_json:
                            yield TextDelta(event.delta.partial_json)
                    elif event.type == "message_delta":
                        finish_reason = event.delta.stop_reason or finish_reason
                        output_tokens = event.usage.output_tokens
                        if event.usage.input_tokens is not None:
                            input_tokens = event.usage.input_tokens
        yield StreamEnd(Usage(input_tokens, output_tokens), model, self.name, finish_reason)

    async def close(self) -> None:
        await self._client.close()
