"""What generation reads: the passages of a presentation's sources, and how to cite them.

Every passage handed to a model is numbered; a statement the model cites as `source: n` gets the
attribution of passage n: its document, the place in it (page/slide/sheet), the indexed chunk id
and an excerpt of the chunk's text.

Degraded mode: when the vector index cannot be searched, the sources are read directly from
object storage (parsed and chunked exactly as ingestion does, so chunk ids are the same) and the
passages are chosen by how many of the query's terms they contain. Generation goes on, grounded
and cited, and the job tells the user that the search index was not used.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from parmenid.knowledge.index import Hit, IndexedChunk
from parmenid.knowledge.ingestion import indexed_chunks
from parmenid.knowledge.lexical import terms
from parmenid.knowledge.models import IngestionStatus, SourceDocument
from parmenid.knowledge.parsers import ParseError, ParseLimits, parse_document_async
from parmenid.llm.types import ContextPassage
from parmenid.presentai.presentations.models import PresentationSource
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.generation")

EXCERPT_CHARS = 600


@dataclass(frozen=True)
class SourceFile:
    id: uuid.UUID
    name: str
    storage_key: str
    filename: str
    status: str
    error_code: str | None


@dataclass
class Grounding:
    """Numbered passages (1-based as the prompt shows them) and their attributions."""

    passages: list[ContextPassage] = field(default_factory=list)
    attributions: list[dict[str, Any]] = field(default_factory=list)
    degraded: bool = False
    reason: str | None = None

    def numbered(self) -> str:
        """The passages as the prompt lists them: `[n] (citation) text`."""
        return "\n\n".join(f"[{n}] ({p.citation}) {p.text}" for n, p in enumerate(self.passages, 1))

    def attribution(self, number: object, statement: str = "") -> dict[str, Any] | None:
        """The attribution of passage `number` (1-based) for `statement`, or None when there is
        no such passage. Its excerpt is the part of the passage around the statement."""
        if isinstance(number, bool) or not isinstance(number, int | float | str):
            return None
        try:
            index = int(number) - 1
        except ValueError:
            return None
        if 0 <= index < len(self.attributions):
            text = self.passages[index].text
            return {**self.attributions[index], "excerpt": excerpt(text, statement)}
        return None


def excerpt(text: str, statement: str) -> str:
    """At most `EXCERPT_CHARS` of `text`, around where `statement` (or its start) appears."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    words = statement.rstrip("…").split()
    at = -1
    for size in (len(words), 6, 3, 2):
        if size and words[:size]:
            at = flat.find(" ".join(words[:size]))
            if at >= 0:
                break
    start = max(0, at - EXCERPT_CHARS // 4) if at >= 0 else 0
    return flat[start : start + EXCERPT_CHARS]


async def source_files(runtime: Runtime, presentation_id: uuid.UUID) -> list[SourceFile]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(SourceDocument)
            .join(PresentationSource, PresentationSource.document_id == SourceDocument.id)
            .where(PresentationSource.presentation_id == presentation_id)
            .order_by(PresentationSource.created_at, SourceDocument.id)
        )
        return [
            SourceFile(
                d.id,
                d.title or d.filename,
                d.storage_key,
                d.filename,
                d.ingestion_status,
                d.error_code,
            )
            for d in rows.all()
        ]


def usable(files: list[SourceFile], *, degraded: bool) -> list[SourceFile]:
    """Indexed sources; when the index is down, also those whose indexing failed only because
    the index was down (their files are fine)."""
    return [
        f
        for f in files
        if f.status == IngestionStatus.INDEXED.value
        or (degraded and f.error_code == "index_unavailable")
    ]


class Retriever:
    """Passages for one generation job (one organization, one set of sources)."""

    def __init__(self, runtime: Runtime, organization_id: uuid.UUID, files: list[SourceFile]):
        self.runtime = runtime
        self.organization_id = organization_id
        self.files = files
        self.names = {str(f.id): f.name for f in files}
        self._direct: list[IndexedChunk] | None = None  # degraded mode: the files, read once
        self._direct_owner: dict[str, str] = {}

    async def whole(self, query: str, limit: int) -> Grounding:
        """Passages covering all the material (for an outline), the query's best first."""
        ids = [str(f.id) for f in usable(self.files, degraded=False)]
        index = self.runtime.index
        spread = await index.chunks_of(str(self.organization_id), ids, limit=limit)
        if spread.degraded:
            return await self._read_directly(query, limit, spread.reason)
        best = await index.search(
            str(self.organization_id), query, limit=max(5, limit // 4), document_ids=ids
        )
        unique = {hit.chunk_id: hit for hit in [*spread.hits, *best.hits]}
        first = [hit.chunk_id for hit in best.hits]
        order = list(dict.fromkeys([*first, *(hit.chunk_id for hit in spread.hits)]))
        return self._grounding([unique[chunk_id] for chunk_id in order][:limit])

    async def relevant(self, query: str, limit: int) -> Grounding:
        """The passages that best match `query` (for one slide)."""
        ids = [str(f.id) for f in usable(self.files, degraded=False)]
        found = await self.runtime.index.search(
            str(self.organization_id), query, limit=limit, document_ids=ids
        )
        if found.degraded:
            return await self._read_directly(query, limit, found.reason)
        return self._grounding(found.hits)

    def _grounding(self, hits: list[Hit], *, reason: str | None = None) -> Grounding:
        grounding = Grounding(degraded=reason is not None, reason=reason)
        for hit in hits:
            grounding.passages.append(ContextPassage(hit.chunk_id, hit.text, hit.citation))
            grounding.attributions.append(
                {
                    "document_id": hit.document_id,
                    "document": self.names.get(hit.document_id, ""),
                    "chunk_id": hit.chunk_id,
                    "location": hit.location,
                    "citation": hit.citation,
                }
            )
        return grounding

    async def _read_directly(self, query: str, limit: int, reason: str | None) -> Grounding:
        if self._direct is None:
            self._direct = []
            knowledge = self.runtime.settings.knowledge
            limits = ParseLimits(
                max_bytes=knowledge.max_upload_bytes,
                max_pages=knowledge.max_pages,
                timeout_seconds=knowledge.parse_timeout_seconds,
            )
            storage = self.runtime.storage
            assert storage is not None
            async with self.runtime.db.session() as session:
                documents = {
                    d.id: d
                    for d in (
                        await session.scalars(
                            select(SourceDocument).where(
                                SourceDocument.id.in_(
                                    [f.id for f in usable(self.files, degraded=True)]
                                )
                            )
                        )
                    ).all()
                }
            for document in documents.values():
                try:
                    data = await storage.get(document.storage_key)
                    parsed = await parse_document_async(
                        data, filename=document.filename, limits=limits
                    )
                except (ParseError, OSError, KeyError) as exc:
                    log.warning("source %s unreadable in degraded mode: %s", document.id, exc)
                    continue
                for chunk in indexed_chunks(document, parsed):
                    self._direct.append(chunk)
                    self._direct_owner[chunk.chunk_id] = str(document.id)
        wanted = Counter(terms(query))

        def overlap(chunk: IndexedChunk) -> int:
            return sum(min(n, wanted[t]) for t, n in Counter(terms(chunk.text)).items())

        ranked = sorted(self._direct, key=lambda c: (-overlap(c), c.position))
        hits = [
            Hit(
                chunk_id=c.chunk_id,
                document_id=self._direct_owner[c.chunk_id],
                text=c.text,
                citation=c.citation,
                location=c.location,
                score=0.0,
                position=c.position,
            )
            for c in ranked[:limit]
        ]
        return self._grounding(
            hits, reason=reason or "the search index is unavailable; sources were read directly"
        )
