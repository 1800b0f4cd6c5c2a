"""Dense embeddings: the protocol every dense embedder satisfies.

The embedded default has no dense embedder at all: the index then keeps only the lexical sparse
vector (:mod:`parmenid.knowledge.lexical`), so nothing has to be downloaded and no service has to
run. In production a dense embedder is configured — OpenAI ``text-embedding-3-large`` (3072
dimensions), any OpenAI-compatible endpoint such as BGE-M3 (1024), or local
sentence-transformers — and retrieval becomes hybrid (sparse and dense, fused by RRF).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class DenseEmbedder(Protocol):
    """Turns texts into dense vectors of a fixed dimension.

    ``name`` identifies the model (e.g. ``"text-embedding-3-large"``); the index records it with
    the dimension, and re-creates its collection when either changes, because vectors of two
    models are not comparable even when their sizes agree.
    """

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector of ``dimension`` floats per text, in the same order."""
        ...


KNOWN_DIMENSIONS = {
    "text-embedding-3-large": 3072,
    "text-embedding-3-small": 1536,
    "text-embedding-ada-002": 1536,
    "bge-m3": 1024,
}


class OpenAIDenseEmbedder:
    """An OpenAI (or OpenAI-compatible) embeddings endpoint as a `DenseEmbedder`."""

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        dimensions: int | None = None,
    ) -> None:
        from parmenid.llm.providers.embeddings import OpenAIEmbeddings

        size = dimensions or KNOWN_DIMENSIONS.get(model.lower())
        if size is None:
            raise ValueError(
                f"the dimension of embedding model {model!r} is unknown: "
                "set PARMENID_KNOWLEDGE__EMBEDDING_DIMENSIONS"
            )
        self._model = model
        self._dimension = size
        self._client = OpenAIEmbeddings(
            api_key=api_key, base_url=base_url, model=model, dimensions=dimensions
        )

    @property
    def name(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: list[str]) -> list[list[float]]:
        vectors = await self._client.embed(texts)
        if vectors and len(vectors[0]) != self._dimension:
            raise ValueError(
                f"{self._model} returned {len(vectors[0])} dimensions, expected {self._dimension}"
            )
        return vectors

    async def close(self) -> None:
        await self._client.close()
