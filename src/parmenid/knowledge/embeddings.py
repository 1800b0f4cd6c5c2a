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


class SentenceTransformerEmbedder:
    """A local sentence-transformers model from a directory on disk (the `local-embeddings`
    extra). Nothing is downloaded: the hub is switched off before the model loads, so a missing
    model fails at once with a clear error instead of reaching for the network."""

    def __init__(self, model_path: str, *, device: str = "cpu", batch_size: int = 32) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the installed extra
            raise RuntimeError(
                "local embeddings need the extra: pip install 'parmenid[local-embeddings]' "
                "(and a CPU build of torch)"
            ) from exc
        self._model = SentenceTransformer(model_path, device=device)
        self._name = model_path.rstrip("/").rsplit("/", 1)[-1]
        size = self._model.get_embedding_dimension()
        if not size:
            raise ValueError(f"cannot tell the embedding dimension of {model_path}")
        self._dimension = int(size)
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: list[str]) -> list[list[float]]:
        import asyncio

        def encode() -> list[list[float]]:
            vectors = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True
            )
            return [list(map(float, vector)) for vector in vectors]

        return await asyncio.to_thread(encode)
