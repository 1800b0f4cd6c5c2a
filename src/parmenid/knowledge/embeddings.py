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
