"""OpenAI, and OpenAI-compatible servers (vLLM, Ollama, LM Studio), through the `openai` SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

import openai

from parmenid.llm.providers import sdk_errors
from parmenid.llm.types import (
    ChatMessage,
    ChatRequest,
    Completion,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)


def parse_json_reply(provider: str, text: str) -> dict[str, Any] | list[Any]:
    """Parse a structured reply; tolerate a Markdown code fence around it.

    Unparseable output is a `server_error` (retryable): the next sample may well be valid.
    """
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProviderError(provider, "server_error", f"reply is not JSON: {exc}") from exc
    if not isinstance(data, dict | list):
        raise ProviderError(provider, "server_error", "reply JSON is not an object or array")
    return data


class OpenAIProvider:
    """Chat Completions via `openai.AsyncOpenAI`.

    Structured output uses `response_format={"type": "json_schema", ..., "strict": True}`.
    With `json_object_fallback` (on for OpenAI-compatible servers), a 400 to that request
    switches this provider, for good, to `{"type": "json_object"}` with the schema given in
    the system prompt. The SDK never retries (`max_retries=0`): the gateway does.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        default_model: str = "gpt-4o",
        timeout: float = 60.0,
        max_retries: int = 0,
        name: str = "openai",
        json_object_fallback: bool = False,
    ) -> None:
        self.name = name
        self.default_model = default_model
        self._json_object_fallback = json_object_fallback
        self._json_schema_supported = True
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def _params(self, request: ChatRequest, *, json_schema_mode: bool) -> dict[str, Any]:
        messages = list(request.messages)
        params: dict[str, Any] = {
            "model": request.model or self.default_model,
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = request.stop
        if request.json_schema is not None:
            if json_schema_mode:
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.schema_name,
                        "schema": request.json_schema,
                        "strict": True,
                    },
                }
            else:
                params["response_format"] = {"type": "json_object"}
                schema = json.dumps(request.json_schema, ensure_ascii=False)
                hint = f"Reply with only a JSON value that satisfies this JSON schema:\n{schema}"
                messages = [ChatMessage("system", hint), *messages]
        params["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        return params

    def _errors(self) -> AbstractContextManager[None]:
        return sdk_errors(self.name)

    def _fallback_applies(self, request: ChatRequest, error: ProviderError) -> bool:
        if not (self._json_object_fallback and self._json_schema_supported):
            return False
        if request.json_schema is None or error.status != 400:
            return False
        self._json_schema_supported = False
        return True

    async def complete(self, request: ChatRequest) -> Completion:
        try:
            return await self._complete(request, json_schema_mode=self._json_schema_supported)
        except ProviderError as error:
            if not self._fallback_applies(request, error):
                raise
            return await self._complete(request, json_schema_mode=False)

    async def _complete(self, request: ChatRequest, *, json_schema_mode: bool) -> Completion:
        with self._errors():
            response = await self._client.chat.completions.create(
                **self._params(request, json_schema_mode=json_schema_mode), stream=False
            )
        if not response.choices:
            raise ProviderError(self.name, "server_error", "reply has no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        data = parse_json_reply(self.name, text) if request.json_schema is not None else None
        usage = response.usage
        return Completion(
            text=text,
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
            model=response.model or request.model or self.default_model,
            provider=self.name,
            finish_reason=choice.finish_reason,
            data=data,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Content deltas, then `StreamEnd` with the usage of the final `include_usage` chunk.

        The json_object fallback is not attempted here; after a `complete` has switched the
        provider, streams use json_object too.
        """
        model = request.model or self.default_model
        usage = Usage()
        finish_reason: str | None = None
        params = self._params(request, json_schema_mode=self._json_schema_supported)
        with self._errors():
            chunks = await self._client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            async with chunks:
                async for chunk in chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices[:1]:
                        if choice.delta.content:
                            yield TextDelta(choice.delta.content)
                        finish_reason = choice.finish_reason or finish_reason
        yield StreamEnd(usage, model, self.name, finish_reason)

    async def close(self) -> None:
        await self._client.close()


class OpenAICompatibleProvider(OpenAIProvider):
    """An OpenAI-compatible server (vLLM, Ollama, LM Studio) at `base_url`.

    Local servers usually need no key; any non-empty string is sent. Falls back to
    `json_object` mode when the server rejects `json_schema` response formats with a 400.
    """

    def __init__(
        self,
        base_url: str,
        default_model: str,
        api_key: str = "not-needed",
        timeout: float = 120.0,
        max_retries: int = 0,
        name: str = "openai_compatible",
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            default_model=default_model,
            timeout=timeout,
            max_retries=max_retries,
            name=name,
            json_object_fallback=True,
        )
