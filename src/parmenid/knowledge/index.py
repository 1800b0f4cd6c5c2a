"""The vector index: one Qdrant collection of document chunks, shared by every organization.

Rules:
* Every point carries ``organization_id`` and ``document_id`` in its payload; both are keyword
  payload indexes, ``organization_id`` with ``is_tenant=True`` so that the server lays points out
  per tenant. Every search is filtered by ``organization_id``: another tenant's chunks never come
  back, whatever the query.
* Each point has a sparse vector ``lexical`` (BM25 term frequencies from
  :mod:`parmenid.knowledge.lexical`, IDF applied by Qdrant's ``IDF`` modifier) and, when a dense
  embedder is configured, a dense vector ``dense`` (cosine). With both, a search runs the two
  as prefetches and fuses them by reciprocal rank fusion (RRF); otherwise it is sparse only.
* IDF statistics are taken over the searching organization's own points
  (``SearchParams(idf=IdfCorpusParams(corpus=<org filter>))``), so one tenant's documents neither
  shape another's ranking nor leak their vocabulary through scores. (The ``idf`` search
  parameter needs a Qdrant server as recent as the client, 1.20.)
* The collection records the dense model and dimension in its metadata. When they change (or a
  dense embedder is added or removed) the collection is dropped and re-created, empty: every
  document must be re-indexed, and :meth:`KnowledgeIndex.ensure_collection` says so.
* Retrieval never raises for an unavailable or failing Qdrant: it answers
  ``SearchResult(hits=[], degraded=True, reason=...)`` so that generation goes on without RAG and
  warns the user. Writes (upsert, delete) do raise: ingestion must fail visibly and be retried.

Local mode (``path=``, the embedded default) stores the collection in a directory and searches
it by brute force in-process, on the event loop (each call blocks it for the length of the
search: fine for one machine's documents, not for millions of chunks). It holds a file lock on
that directory: only one process may open it at a time (use a Qdrant server, ``url=``, as soon
as there is more than one process). It computes the IDF modifier (same formula as the server,
over live points) and RRF fusion like the server does; payload indexes have no effect there, so
they are only created on a server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from parmenid.knowledge.embeddings import DenseEmbedder
from parmenid.knowledge.lexical import document_vector, query_vector

logger = logging.getLogger(__name__)

SPARSE_VECTOR = "lexical"
DENSE_VECTOR = "dense"
DEFAULT_PATH = "./data/qdrant"

_METADATA_MODEL = "dense_model"
_METADATA_DIMENSION = "dense_dimension"

QDRANT_ERRORS: tuple[type[BaseException], ...] = (
    ResponseHandlingException,
    UnexpectedResponse,
    httpx.HTTPError,
    OSError,
    TimeoutError,
    RuntimeError,  # local mode: storage folder locked by another process
    ValueError,  # local mode: collection not found
)
"""What a search turns into a degraded answer instead of raising: transport failures and
timeouts (wrapped by the client in ``ResponseHandlingException``), error statuses
(``UnexpectedResponse``) and local-mode failures."""


@dataclass(frozen=True, slots=True)
class IndexedChunk:
    """A chunk as it is stored: ``chunk_id`` (a UUID string) becomes the point id."""

    chunk_id: str
    text: str
    citation: str
    location: dict[str, Any]
    position: int


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    document_id: str
    text: str
    citation: str
    location: dict[str, Any]
    score: float
    position: int = 0
    organization_id: str = ""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``degraded`` means the index could not be searched; ``reason`` tells why (for logs/UI)."""

    hits: list[Hit] = field(default_factory=list)
    degraded: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionState:
    """What :meth:`KnowledgeIndex.ensure_collection` did."""

    created: bool
    recreated: bool
    """The collection existed with another dense model or size and was emptied: re-index."""


class KnowledgeIndex:
    """Chunks of every organization's documents in one Qdrant collection.

    Give ``url`` (and ``api_key``) for a server, else ``path`` for local on-disk mode.
    ``timeout`` (seconds) bounds each server request.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = "knowledge",
        dense: DenseEmbedder | None = None,
        timeout: int = 10,
        embed_batch_size: int = 64,
        upsert_batch_size: int = 256,
    ) -> None:
        self.collection = collection
        self.dense = dense
        self.local = url is None
        self._embed_batch_size = embed_batch_size
        self._upsert_batch_size = upsert_batch_size
        if url is not None:
            self._client = AsyncQdrantClient(
                url=url,
                api_key=api_key,
                timeout=timeout,
                check_compatibility=False,
            )
        else:
            self._client = AsyncQdrantClient(path=path or DEFAULT_PATH)

    async def close(self) -> None:
        await self._client.close()

    # -- collection -------------------------------------------------------------------------

    def _wanted_metadata(self) -> dict[str, Any]:
        if self.dense is None:
            return {_METADATA_MODEL: None, _METADATA_DIMENSION: None}
        return {_METADATA_MODEL: self.dense.name, _METADATA_DIMENSION: self.dense.dimension}

    async def ensure_collection(self) -> CollectionState:
        """Create the collection if missing; re-create it if the dense side changed."""
        recreated = False
        if await self._client.collection_exists(self.collection):
            info = await self._client.get_collection(self.collection)
            if self._matches(info.config):
                return CollectionState(created=False, recreated=False)
            logger.warning(
                "knowledge index: the dense embedding changed (%s -> %s); re-creating collection "
                "%r, every document must be re-indexed",
                _dense_of(info.config),
                self._wanted_metadata(),
                self.collection,
            )
            await self._client.delete_collection(self.collection)
            recreated = True
        await self._create()
        return CollectionState(created=True, recreated=recreated)

    def _matches(self, config: models.CollectionConfig) -> bool:
        return _dense_of(config) == self._wanted_metadata() and SPARSE_VECTOR in (
            config.params.sparse_vectors or {}
        )

    async def _create(self) -> None:
        vectors: dict[str, models.VectorParams] = {}
        if self.dense is not None:
            vectors[DENSE_VECTOR] = models.VectorParams(
                size=self.dense.dimension, distance=models.Distance.COSINE
            )
        await self._client.create_collection(
            self.collection,
            vectors_config=vectors,
            sparse_vectors_config={
                SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
            },
            metadata=self._wanted_metadata(),
        )
        if not self.local:
            await self._client.create_payload_index(
                self.collection,
                "organization_id",
                field_schema=models.KeywordIndexParams(
                    type=models.KeywordIndexType.KEYWORD, is_tenant=True
                ),
            )
            await self._client.create_payload_index(
                self.collection, "document_id", field_schema=models.PayloadSchemaType.KEYWORD
            )

    # -- writes -----------------------------------------------------------------------------

    async def upsert(
        self, organization_id: str, document_id: str, chunks: Sequence[IndexedChunk]
    ) -> None:
        """Store (or replace, by chunk id) the chunks of one document."""
        for start in range(0, len(chunks), self._upsert_batch_size):
            batch = chunks[start : start + self._upsert_batch_size]
            dense_vectors = await self._embed([chunk.text for chunk in batch])
            points: list[models.PointStruct] = []
            for offset, chunk in enumerate(batch):
                sparse = document_vector(chunk.text)
                vector: dict[str, Any] = {
                    SPARSE_VECTOR: models.SparseVector(indices=sparse.indices, values=sparse.values)
                }
                if dense_vectors is not None:
                    vector[DENSE_VECTOR] = dense_vectors[offset]
                points.append(
                    models.PointStruct(
                        id=chunk.chunk_id,
                        vector=vector,
                        payload={
                            "organization_id": organization_id,
                            "document_id": document_id,
                            "text": chunk.text,
                            "citation": chunk.citation,
                            "location": chunk.location,
                            "position": chunk.position,
                        },
                    )
                )
            await self._client.upsert(self.collection, points=points, wait=True)

    async def _embed(self, texts: list[str]) -> list[list[float]] | None:
        if self.dense is None:
            return None
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._embed_batch_size):
            vectors.extend(await self.dense.embed(texts[start : start + self._embed_batch_size]))
        if len(vectors) != len(texts):
            raise ValueError(f"the embedder returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors

    async def delete_document(self, organization_id: str, document_id: str) -> None:
        """Remove every chunk of one document of one organization."""
        await self._client.delete(
            self.collection,
            points_selector=models.FilterSelector(filter=_filter(organization_id, [document_id])),
            wait=True,
        )

    async def delete_organization(self, organization_id: str) -> None:
        """Remove every chunk of one organization (when it is deleted)."""
        if not await self._client.collection_exists(self.collection):
            return
        await self._client.delete(
            self.collection,
            points_selector=models.FilterSelector(filter=_filter(organization_id, None)),
            wait=True,
        )

    # -- reads ------------------------------------------------------------------------------

    async def chunks_of(
        self, organization_id: str, document_ids: list[str], *, limit: int = 200
    ) -> SearchResult:
        """Up to ``limit`` chunks of the given documents, in document order, without a query:
        what an outline of the whole material reads. Shares chunks fairly between documents
        (each gets ``limit // len(document_ids)`` first, the rest fill the remainder). Like
        :meth:`search`, it answers ``degraded`` instead of raising when Qdrant fails."""
        if not document_ids:
            return SearchResult()
        per_document: dict[str, list[Hit]] = {}
        try:
            for document_id in document_ids:
                points, _ = await self._client.scroll(
                    self.collection,
                    scroll_filter=_filter(organization_id, [document_id]),
                    limit=limit,
                    with_payload=True,
                    with_vectors=False,
                )
                hits = [_hit(point) for point in points]
                hits.sort(key=lambda hit: int(hit.position))
                per_document[document_id] = hits
        except QDRANT_ERRORS as error:
            reason = f"vector index unavailable ({type(error).__name__}: {error})"
            logger.warning("knowledge index: reading chunks degraded: %s", reason)
            return SearchResult(degraded=True, reason=reason)
        share = max(1, limit // len(document_ids))
        chosen = [hit for hits in per_document.values() for hit in hits[:share]]
        rest = [hit for hits in per_document.values() for hit in hits[share:]]
        return SearchResult(hits=(chosen + rest)[:limit])

    async def fetch(self, organization_id: str, chunk_ids: list[str]) -> list[Hit]:
        """The stored chunks with these ids (of this organization only)."""
        points = await self._client.retrieve(
            self.collection, ids=chunk_ids, with_payload=True, with_vectors=False
        )
        hits = [_hit(point) for point in points]
        return [hit for hit in hits if hit.organization_id == organization_id]

    async def search(
        self,
        organization_id: str,
        query: str,
        *,
        limit: int = 8,
        document_ids: list[str] | None = None,
    ) -> SearchResult:
        """The best chunks of the organization's documents (optionally only ``document_ids``).

        Never raises for Qdrant being down or failing: see the module docstring. If the dense
        embedder fails, the search goes on sparse only and ``reason`` says so.
        """
        if document_ids is not None and not document_ids:
            return SearchResult()
        query_filter = _filter(organization_id, document_ids)
        sparse = query_vector(query)
        sparse_query = models.SparseVector(indices=sparse.indices, values=sparse.values)
        params = models.SearchParams(
            idf=models.IdfCorpusParams(corpus=_filter(organization_id, None))
        )
        reason: str | None = None
        dense_query: list[float] | None = None
        if self.dense is not None:
            try:
                dense_query = (await self.dense.embed([query]))[0]
            except Exception as error:  # any embedding failure: fall back to lexical
                reason = f"dense embeddings unavailable ({type(error).__name__}); lexical only"
                logger.warning("knowledge index: %s: %s", reason, error)
        if dense_query is None and not sparse.indices:
            return SearchResult(reason=reason)
        try:
            if dense_query is None:
                response = await self._client.query_points(
                    self.collection,
                    query=sparse_query,
                    using=SPARSE_VECTOR,
                    query_filter=query_filter,
                    search_params=params,
                    limit=limit,
                    with_payload=True,
                )
            else:
                depth = max(limit * 4, 20)
                prefetch = [
                    models.Prefetch(
                        query=dense_query, using=DENSE_VECTOR, filter=query_filter, limit=depth
                    )
                ]
                if sparse.indices:
                    prefetch.append(
                        models.Prefetch(
                            query=sparse_query,
                            using=SPARSE_VECTOR,
                            filter=query_filter,
                            params=params,
                            limit=depth,
                        )
                    )
                response = await self._client.query_points(
                    self.collection,
                    prefetch=prefetch,
                    query=models.FusionQuery(fusion=models.Fusion.RRF),
                    query_filter=query_filter,
                    limit=limit,
                    with_payload=True,
                )
        except QDRANT_ERRORS as error:
            reason = f"vector index unavailable ({type(error).__name__}: {error})"
            logger.warning("knowledge index: search degraded: %s", reason)
            return SearchResult(degraded=True, reason=reason)
        return SearchResult(hits=[_hit(point) for point in response.points], reason=reason)


def _filter(organization_id: str, document_ids: list[str] | None) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="organization_id", match=models.MatchValue(value=organization_id))
    ]
    if document_ids is not None:
        must.append(
            models.FieldCondition(key="document_id", match=models.MatchAny(any=document_ids))
        )
    return models.Filter(must=must)


def _dense_of(config: models.CollectionConfig) -> dict[str, Any]:
    """The dense model and size a collection was made for, from its metadata and schema."""
    metadata = config.metadata or {}
    vectors = config.params.vectors
    size = (
        vectors[DENSE_VECTOR].size
        if isinstance(vectors, dict) and DENSE_VECTOR in vectors
        else None
    )
    return {
        _METADATA_MODEL: metadata.get(_METADATA_MODEL) if size is not None else None,
        _METADATA_DIMENSION: size,
    }


def _hit(point: models.ScoredPoint | models.Record) -> Hit:
    payload = point.payload or {}
    return Hit(
        chunk_id=str(point.id),
        document_id=str(payload.get("document_id", "")),
        text=str(payload.get("text", "")),
        citation=str(payload.get("citation", "")),
        location=dict(payload.get("location") or {}),
        score=float(getattr(point, "score", 0.0)),
        position=int(payload.get("position") or 0),
        organization_id=str(payload.get("organization_id", "")),
    )
