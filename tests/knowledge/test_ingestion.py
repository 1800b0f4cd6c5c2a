"""Ingestion as a durable job: pending → processing → indexed | failed, with the event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from parmenid.core.db import utcnow
from parmenid.core.jobs import QUEUED, SUCCEEDED, Job
from parmenid.identity.models import Organization
from parmenid.knowledge.ingestion import add_document, stream_of
from parmenid.knowledge.models import SourceDocument
from parmenid.knowledge.parsers import ParseError
from parmenid.runtime import Runtime
from tests.conftest import run_jobs
from tests.fakes.llm_server import FakeLLM
from tests.fakes.server import ServerThread, free_port

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


async def _org(runtime: Runtime) -> uuid.UUID:
    org = Organization(name="Docs", slug=f"docs-{uuid.uuid4().hex[:8]}")
    async with runtime.db.session() as session:
        session.add(org)
    return org.id


async def _add(runtime: Runtime, org: uuid.UUID, name: str) -> SourceDocument:
    assert runtime.storage is not None
    async with runtime.db.session() as session:
        return await add_document(
            session, runtime.storage, org, name, (SAMPLES / name).read_bytes()
        )


async def _reload(runtime: Runtime, document_id: uuid.UUID) -> SourceDocument:
    async with runtime.db.session() as session:
        document = await session.get(SourceDocument, document_id)
    assert document is not None
    return document


async def test_a_pdf_is_indexed_and_announced(runtime: Runtime) -> None:
    org = await _org(runtime)
    document = await _add(runtime, org, "pep-0008.pdf")
    assert document.ingestion_status == "pending"
    assert document.kind == "pdf"
    await run_jobs(runtime)

    document = await _reload(runtime, document.id)
    assert document.ingestion_status == "indexed"
    assert document.chunks_created > 20
    assert document.page_count == 27
    [event] = await runtime.streams.read(stream_of(document.id))
    assert event.data == {
        "type": "ingestion_completed",
        "source_document_id": str(document.id),
        "ingestion_status": "indexed",
        "chunks_created": document.chunks_created,
    }
    found = await runtime.index.search(str(org), "maximum line length 79 characters")
    assert not found.degraded
    assert "79 characters" in found.hits[0].text
    assert found.hits[0].citation.startswith("pep-0008.pdf, p. ")
    assert await runtime.index.search(str(uuid.uuid4()), "line length") == type(found)([], False)


async def test_a_password_protected_pdf_fails_with_a_reason(runtime: Runtime) -> None:
    document = await _add(runtime, await _org(runtime), "libreoffice-writer-password.pdf")
    await run_jobs(runtime)
    document = await _reload(runtime, document.id)
    assert document.ingestion_status == "failed"
    assert document.error_code == "password_protected"
    assert "password" in (document.error_message or "").lower()
    [event] = await runtime.streams.read(stream_of(document.id))
    assert event.data["ingestion_status"] == "failed"
    assert event.data["error_message"] == document.error_message
    async with runtime.db.session() as session:
        job = await session.scalar(select(Job).where(Job.name == "knowledge.ingest"))
    assert job is not None and job.status == SUCCEEDED  # nothing to retry


async def test_an_unsupported_file_is_refused_before_it_is_stored(runtime: Runtime) -> None:
    assert runtime.storage is not None
    async with runtime.db.session() as session:
        with pytest.raises(ParseError) as caught:
            await add_document(
                session, runtime.storage, await _org(runtime), "x.bin", bytes(range(256)) * 8
            )
    assert caught.value.code == "unsupported"


class TestIndexDown:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"knowledge": {"qdrant_url": f"http://127.0.0.1:{free_port()}"}}

    async def test_the_document_fails_and_the_job_is_retried_later(self, runtime: Runtime) -> None:
        document = await _add(runtime, await _org(runtime), "pep-0020.html")
        before = utcnow()
        await run_jobs(runtime)
        document = await _reload(runtime, document.id)
        assert document.ingestion_status == "failed"
        assert document.error_code == "index_unavailable"
        assert "retrying" in (document.error_message or "")
        async with runtime.db.session() as session:
            job = await session.scalar(select(Job).where(Job.name == "knowledge.ingest"))
        assert job is not None
        assert job.status == QUEUED
        assert job.run_at >= before + timedelta(seconds=290)  # five minutes by default


@pytest.fixture(scope="module")
def embeddings() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(embedding_dim=64)
    with ServerThread(fake.app()) as server:
        yield fake, server.url


class TestDenseEmbeddings:
    """Hybrid indexing with an OpenAI-compatible embeddings endpoint (the fake LLM server)."""

    @pytest.fixture
    def settings_overrides(self, embeddings: tuple[FakeLLM, str]) -> dict[str, object]:
        embeddings[0].fail_mode = None
        return {
            "knowledge": {
                "embedding_model": "text-embedding-3-small",
                "embedding_dimensions": 64,
                "embedding_base_url": embeddings[1] + "/v1",
                "embedding_api_key": "sk-test",
            }
        }

    async def test_documents_are_embedded_and_searched_hybrid(
        self, runtime: Runtime, embeddings: tuple[FakeLLM, str]
    ) -> None:
        org = await _org(runtime)
        document = await _add(runtime, org, "pep-0020.html")
        await run_jobs(runtime)
        document = await _reload(runtime, document.id)
        assert document.ingestion_status == "indexed"
        assert any(r.path == "/v1/embeddings" for r in embeddings[0].received)
        found = await runtime.index.search(str(org), "Beautiful is better than ugly")
        assert not found.degraded
        assert "Beautiful is better than ugly" in found.hits[0].text

    async def test_an_embedding_outage_fails_and_retries_in_five_minutes(
        self, runtime: Runtime, embeddings: tuple[FakeLLM, str]
    ) -> None:
        embeddings[0].fail_mode = "500"
        document = await _add(runtime, await _org(runtime), "pep-0020.html")
        await run_jobs(runtime)
        document = await _reload(runtime, document.id)
        assert document.ingestion_status == "failed"
        assert "retrying in 5 min" in (document.error_message or "")
        async with runtime.db.session() as session:
            job = await session.scalar(select(Job).where(Job.name == "knowledge.ingest"))
        assert job is not None and job.status == QUEUED
