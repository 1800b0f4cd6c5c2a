"""Dense embeddings through the OpenAI Embeddings API (OpenAI or a compatible server)."""

from __future__ import annotations

import openai

from parmenid.llm.providers import map_sdk_error
from parmenid.llm.types import ProviderError


class OpenAIEmbeddings:
    """`embed(texts)` → one vector per text, in order, `batch_size` texts per request.

    `dimensions` is sent only when set (OpenAI `text-embedding-3-*` can shorten vectors; most
    compatible servers reject the parameter). Errors map to `ProviderError` like the chat
    providers; the SDK never retries.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        model: str = "text-embedding-3-large",
        dimensions: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 0,
        batch_size: int = 128,
        name: str = "openai",
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.name = name
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                if self.dimensions is None:
                    response = await self._client.embeddings.create(model=self.model, input=batch)
                else:
                    response = await self._client.embeddings.create(
                        model=self.model, input=batch, dimensions=self.dimensions
                    )
            except Exception as exc:
                mapped = map_sdk_error(self.name, exc)
                if mapped is None:
                    raise
                raise mapped from exc
            if len(response.data) != len(batch):
                raise ProviderError(self.name, "server_error", "wrong number of embeddings")
            vectors.extend(list(item.embedding) for item in sorted(response.data, key=_index))
        return vectors

    async def close(self) -> None:
        await self._client.close()


def _index(item: openai.types.Embedding) -> int:
    return item.index
