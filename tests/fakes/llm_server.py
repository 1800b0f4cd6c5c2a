"""A local LLM server speaking the Anthropic Messages, OpenAI Chat Completions and OpenAI
Embeddings APIs (streaming included) faithfully enough for the official SDKs.

    fake = FakeLLM(reply="Hi there", ttft_s=0.1)
    with ServerThread(fake.app()) as server:
        AnthropicProvider("key", base_url=server.url)          # SDK adds /v1/messages
        OpenAIProvider("key", base_url=server.url + "/v1")

Latency, time to first token, chunk pacing and failures are plain attributes, so a test may
change them between requests. Every request is recorded in `fake.received`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import random
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

FailMode = Literal["500", "429", "400", "401", "hang", "stall", "drop"]
Api = Literal["anthropic", "openai"]


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @property
    def system(self) -> str | None:
        """Anthropic `system`, or the OpenAI system messages joined by blank lines."""
        if "system" in self.body:
            return str(self.body["system"])
        parts = [m["content"] for m in self.messages if m.get("role") == "system"]
        return "\n\n".join(parts) if parts else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


def count_tokens(text: str) -> int:
    """Roughly: one token per word, at least one."""
    return max(1, len(text.split()))


def sample_for_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal value that satisfies a (reasonable subset of) JSON schema."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        return sample_for_schema(target, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return sample_for_schema(schema[key][0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        return {name: sample_for_schema(sub, root) for name, sub in props.items()}
    if kind == "array":
        item = schema.get("items", {"type": "string"})
        return [sample_for_schema(item, root) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        length = max(7, int(schema.get("minLength", 0)))
        return ("x" * length)[: int(schema.get("maxLength", length))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return True
    return None


def embedding_for(text: str, dim: int) -> list[float]:
    """A deterministic pseudo-random unit vector seeded by the text's SHA-256."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    vector = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _pieces(text: str) -> list[str]:
    """Word-sized chunks that concatenate back to `text` exactly."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def _sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


@dataclass
class FakeLLM:
    """Configuration and recorded traffic of the fake; `app()` serves it."""

    reply: str | Callable[[Received], str] = "Hello from the fake LLM."
    structured: dict[str, Any] | Callable[[Received], Any] | None = None
    latency_s: float = 0.0
    ttft_s: float = 0.0
    chunk_interval_s: float = 0.0
    fail_mode: FailMode | None = None
    fail_times: int | None = None  # None: every request fails while fail_mode is set
    retry_after: float = 2.0
    hang_s: float = 30.0  # a hang ends early once the client disconnects
    embedding_dim: int = 64
    reject_json_schema: bool = False  # OpenAI: 400 to response_format json_schema
    received: list[Received] = field(default_factory=list)
    failures: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1/chat/completions", self._openai_chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )

    # --- shared ---------------------------------------------------------------------------

    async def _receive(self, request: Request) -> Received:
        received = Received(request.url.path, await request.json(), dict(request.headers))
        self.received.append(received)
        return received

    def _failure_now(self) -> FailMode | None:
        if self.fail_mode is None:
            return None
        if self.fail_times is not None and self.failures >= self.fail_times:
            return None
        self.failures += 1
        return self.fail_mode

    async def _hang(self, request: Request) -> None:
        deadline = time.monotonic() + self.hang_s
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.02)

    def _reply_text(self, received: Received) -> str:
        return self.reply(received) if callable(self.reply) else self.reply

    def _structured(self, received: Received, schema: dict[str, Any]) -> Any:
        if callable(self.structured):
            return self.structured(received)
        return self.structured if self.structured is not None else sample_for_schema(schema)

    async def _prelude(self, request: Request, api: Api) -> Response | None:
        """Apply latency and the failure mode; a response here replaces the normal one."""
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        mode = self._failure_now()
        if mode == "hang":
            await self._hang(request)
            return _error(api, 504, "timeout")
        if mode in ("500", "429", "400", "401"):
            return _error(api, int(mode), "failure injected", self.retry_after)
        if mode in ("stall", "drop"):
            return self._broken_stream(request, mode)
        return None

    def _broken_stream(self, request: Request, mode: FailMode) -> StreamingResponse:
        """Headers and a first bytes, then a stall (`stall`) or a cut connection (`drop`)."""

        async def body() -> AsyncIterator[bytes]:
            yield b": started\n\n"
            if mode == "stall":
                await self._hang(request)
            raise ConnectionAbortedError("dropped by the fake")

        return StreamingResponse(body(), media_type="text/event-stream")

    async def _paced(self, chunks: list[bytes]) -> AsyncIterator[bytes]:
        if self.ttft_s:
            await asyncio.sleep(self.ttft_s)
        for i, chunk in enumerate(chunks):
            if i and self.chunk_interval_s:
                await asyncio.sleep(self.chunk_interval_s)
            yield chunk

    # --- Anthropic Messages ---------------------------------------------------------------

    async def _anthropic(self, request: Request) -> Response:
        received = await self._receive(request)
        if (broken := await self._prelude(request, "anthropic")) is not None:
            return broken
        body = received.body
        model = received.model or "claude-fake"
        prompt = (received.system or "") + " ".join(
            m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
            for m in received.messages
        )
        input_tokens = count_tokens(prompt)
        forced = (body.get("tool_choice") or {}).get("name") if body.get("tools") else None
        tool = next((t for t in body.get("tools", []) if t.get("name") == forced), None)
        if tool is not None:
            data = self._structured(received, tool.get("input_schema", {}))
            text = json.dumps(data, ensure_ascii=False)
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:24]}",
                "name": tool["name"],
                "input": data,
            }
            stop_reason = "tool_use"
        else:
            text = self._reply_text(received)
            block = {"type": "text", "text": text}
            stop_reason = "end_turn"
        output_tokens = count_tokens(text)
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        if not body.get("stream"):
            return JSONResponse(message, headers=headers)
        start = {**message, "content": [], "stop_reason": None}
        start["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
        if block["type"] == "tool_use":
            opening: dict[str, Any] = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text)]
        else:
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(text)]
        events = [
            _sse({"type": "message_start", "message": start}, "message_start"),
            _sse(
                {"type": "content_block_start", "index": 0, "content_block": opening},
                "content_block_start",
            ),
            _sse({"type": "ping"}, "ping"),
            *(
                _sse({"type": "content_block_delta", "index": 0, "delta": d}, "content_block_delta")
                for d in deltas
            ),
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
                "message_delta",
            ),
            _sse({"type": "message_stop"}, "message_stop"),
        ]
        return StreamingResponse(
            self._paced(events), media_type="text/event-stream", headers=headers
        )

    # --- OpenAI Chat Completions ----------------------------------------------------------

    async def _openai_chat(self, request: Request) -> Response:
        received = await self._receive(request)
        if (broken := await self._prelude(request, "openai")) is not None:
            return broken
        body = received.body
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.reject_json_schema:
            return _error("openai", 400, "response_format json_schema is not supported")
        if fmt.get("type") == "json_schema":
            text = json.dumps(self._structured(received, fmt["json_schema"].get("schema", {})))
        elif fmt.get("type") == "json_object":
            text = json.dumps(self._structured(received, {"type": "object"}))
        else:
            text = self._reply_text(received)
        model = received.model or "gpt-fake"
        prompt_tokens = count_tokens(" ".join(str(m.get("content")) for m in received.messages))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": count_tokens(text),
            "total_tokens": prompt_tokens + count_tokens(text),
        }
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        if not body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
            return JSONResponse(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            )

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return _sse({**base, "object": "chat.completion.chunk", "choices": [choice]})

        chunks = [chunk({"role": "assistant", "content": ""}, None)]
        chunks += [chunk({"content": p}, None) for p in _pieces(text)]
        chunks.append(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append(
                _sse({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
            )
        chunks.append(_sse("[DONE]"))
        return StreamingResponse(self._paced(chunks), media_type="text/event-stream")

    # --- OpenAI Embeddings ----------------------------------------------------------------

    async def _embeddings(self, request: Request) -> Response:
        received = await self._receive(request)
        if (broken := await self._prelude(request, "openai")) is not None:
            return broken
        body = received.body
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        dim = int(body.get("dimensions") or self.embedding_dim)
        data = []
        for i, text in enumerate(texts):
            vector = embedding_for(str(text), dim)
            encoded: list[float] | str = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(count_tokens(str(t)) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": received.model or "embedding-fake",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


_ANTHROPIC_TYPES = {
    401: "authentication_error",
    400: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
}
_OPENAI_TYPES = {
    401: ("invalid_request_error", "invalid_api_key"),
    400: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    504: ("timeout", None),
}


def _error(api: Api, status: int, message: str, retry_after: float | None = None) -> Response:
    """An error in the API's own body format; 429s carry `retry-after`."""
    headers = {"retry-after": f"{retry_after:g}"} if status == 429 and retry_after else {}
    if api == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        kind, code = _OPENAI_TYPES.get(status, ("server_error", None))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)
