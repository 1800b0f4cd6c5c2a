"""`parmenid ingest FILE|URL...` and `parmenid ask "question"`: try the knowledge core from a
terminal, on the configured database and index (local Qdrant by default)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import typer
from sqlalchemy import select

from parmenid.core.http import outbound_client
from parmenid.core.safe_fetch import FetchPolicy, FetchRefused, fetch
from parmenid.identity.models import Organization
from parmenid.knowledge.ingestion import add_document
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.parsers import ParseError
from parmenid.llm.local_engine import Passage, answer
from parmenid.runtime import Runtime


async def organization_for(runtime: Runtime, slug: str) -> uuid.UUID:
    """The organization `slug`, created for command-line use when it does not exist."""
    async with runtime.db.session() as session:
        found = await session.scalar(select(Organization.id).where(Organization.slug == slug))
        if found is not None:
            return found
        organization = Organization(name=f"Command line ({slug})", slug=slug)
        session.add(organization)
    return organization.id


async def ingest_sources(runtime: Runtime, sources: list[str], slug: str) -> list[SourceDocument]:
    """Ingest each file or URL now, in this process; the documents stored (indexed or failed
    with a reason), without the sources that could not be read at all."""
    assert runtime.storage is not None
    organization = await organization_for(runtime, slug)
    ingestor = runtime.ingestor()
    policy = FetchPolicy(allow_loopback=runtime.settings.knowledge.allow_loopback_urls)
    documents: list[SourceDocument] = []
    async with outbound_client() as client:
        with typer.progressbar(sources, label="Ingesting", show_pos=True) as progress:
            for source in progress:
                try:
                    url: str | None = None
                    if source.startswith(("http://", "https://")):
                        fetched = await fetch(source, client=client, policy=policy)
                        name = fetched.final_url.rstrip("/").rsplit("/", 1)[-1] or source
                        data, url = fetched.content, source
                    else:
                        name = Path(source).name
                        data = await asyncio.to_thread(Path(source).read_bytes)
                    async with runtime.db.session() as session:
                        document = await add_document(
                            session,
                            runtime.storage,
                            organization,
                            name,
                            data,
                            source_url=url,
                            queue_job=False,
                        )
                    document = await ingestor.ingest(document.id)
                except (OSError, FetchRefused, ParseError) as exc:
                    reason = getattr(exc, "reason", None) or str(exc)
                    typer.echo(f"\n✗ {source}: {reason}", err=True)
                    continue
                documents.append(document)
                if document.ingestion_status == "indexed":
                    typer.echo(f"\n✓ {source}: {document.chunks_created} chunks ({document.kind})")
                else:
                    typer.echo(f"\n✗ {source}: {document.error_message}", err=True)
    return documents


async def ask_question(runtime: Runtime, question: str, slug: str, limit: int = 8) -> str:
    organization = await organization_for(runtime, slug)
    found = await runtime.index.search(str(organization), question, limit=limit)
    if found.degraded:
        return f"The index is unavailable: {found.reason}"
    passages = [Passage(hit.chunk_id, hit.text, hit.citation) for hit in found.hits]
    result = answer(question, passages)
    return f"{result.text}\n\n(provider: {result.provider})"
