"""The `local` provider: the extractive engine behind the provider interface.

It answers the last user message from `request.context` only, selecting and condensing source
sentences with citations (see `parmenid.llm.local_engine`). It reports `provider: "local"` and
the model `extractive-v1`; token counts are word-and-punctuation estimates. Structured output
exists only for the deck tasks of `parmenid.llm.deck` (outline, slide); any other JSON schema is
refused as a bad request.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from parmenid.llm import deck
from parmenid.llm.local_engine import Passage, answer, token_estimate
from parmenid.llm.types import (
    ChatRequest,
    Completion,
    ProviderError,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)

MODEL = "extractive-v1"
_PIECES = re.compile(r"\S+\s*")


class LocalProvider:
    name = "local"
    default_model = MODEL

    async def complete(self, request: ChatRequest) -> Completion:
        if request.json_schema is not None:
            return self._structured(request)
        question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        passages = [Passage(p.id, p.text, p.citation) for p in request.context]
        result = answer(question, passages)
        prompt_tokens = sum(token_estimate(m.content) for m in request.messages) + sum(
            token_estimate(p.text) for p in passages
        )
        return Completion(
            text=result.text,
            usage=Usage(prompt_tokens, token_estimate(result.text)),
            model=MODEL,
            provider=self.name,
            finish_reason="stop" if result.grounded else "no_grounding",
        )

    def _structured(self, request: ChatRequest) -> Completion:
        if request.schema_name not in deck.SCHEMAS:
            raise ProviderError(
                self.name,
                "bad_request",
                f"the local extractive engine has no structured output for {request.schema_name!r}",
            )
        data = deck.local_result(request)
        text = json.dumps(data, ensure_ascii=False)
        prompt_tokens = sum(token_estimate(m.content) for m in request.messages)
        return Completion(
            text=text,
            usage=Usage(prompt_tokens, token_estimate(text)),
            model=MODEL,
            provider=self.name,
            finish_reason="stop",
            data=data,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        completion = await self.complete(request)
        for piece in _PIECES.findall(completion.text):
            yield TextDelta(piece)
        yield StreamEnd(completion.usage, MODEL, self.name, completion.finish_reason)

    async def close(self) -> None:
        return None
