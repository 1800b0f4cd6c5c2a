"""Benchmark knowledge ingestion, retrieval and the LLM gateway's streaming overhead, in one run.

    .venv/bin/python bench/knowledge.py
    .venv/bin/python bench/knowledge.py --help

Measures, one after the other, everything in-process and on 127.0.0.1:

1. ingestion of the sample PDFs end to end (parse, chunk, sparse vectors, upsert into a local-mode
   `KnowledgeIndex`) against bare pypdfium2 text extraction of every page of the same files, in
   pages per second, with the time of each stage;
2. retrieval latency (p50/p95/p99) of `KnowledgeIndex.search` over 10,000 chunks of one
   organization (plus a second organization's chunks, to exercise the tenant filter), local mode;
3. time to first token of a stream from the fake LLM server: raw httpx, the Anthropic SDK through
   `AnthropicProvider`, and the `LLMGateway` (traces into a migrated SQLite database).

Prints a table of the ratios side by side and writes everything as JSON into bench/results/.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pypdfium2  # type: ignore[import-untyped]
from sqlalchemy import func, select

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SAMPLES_DIR = Path("/work/shared/samples")
if str(REPO_DIR) not in sys.path:  # `tests.fakes` is imported from the repository root
    sys.path.insert(0, str(REPO_DIR))

from tests.fakes.llm_server import FakeLLM  # noqa: E402
from tests.fakes.server import ServerThread  # noqa: E402

from machine import git_state, package_versions  # noqa: E402
from parmenid.core.db import Database  # noqa: E402
from parmenid.knowledge.chunking import chunk_segments  # noqa: E402
from parmenid.knowledge.index import IndexedChunk, KnowledgeIndex  # noqa: E402
from parmenid.knowledge.lexical import document_vector  # noqa: E402
from parmenid.knowledge.parsers import ParseError, parse_document  # noqa: E402
from parmenid.llm.gateway import CallContext, LLMGateway  # noqa: E402
from parmenid.llm.models import LLMTrace  # noqa: E402
from parmenid.llm.providers.anthropic import AnthropicProvider  # noqa: E402
from parmenid.llm.types import ChatMessage, ChatRequest, TextDelta  # noqa: E402
from parmenid.migrations.runner import upgrade_sync  # noqa: E402
from stats import summary_ms  # noqa: E402

MAIN_PDF = "pep-0008.pdf"
SKIPPED_PDFS = {"libreoffice-writer-password.pdf"}  # must fail: nothing to extract
INGEST_TARGET = 0.5  # ours / bare, pages per second
GATEWAY_TARGET_MS = 5.0  # gateway p50 - SDK p50, time to first token, concurrency 1
REPLY = (
    "Beautiful is better than ugly. Explicit is better than implicit. Simple is better than "
    "complex. Complex is better than complicated. Flat is better than nested. Sparse is better "
    "than dense. Readability counts, and special cases are not special enough to break the rules."
)  # 41 words: 41 text deltas
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# --- 1. ingestion --------------------------------------------------------------------------------


@dataclass
class IngestResult:
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    parse_s: float = 0.0
    chunk_s: float = 0.0
    vectors_s: float = 0.0
    upsert_s: float = 0.0
    bare_pages: int = 0
    bare_s: float = 0.0
    files: dict[str, int] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return self.parse_s + self.chunk_s + self.vectors_s + self.upsert_s

    @property
    def ours_pps(self) -> float:
        return self.pages / self.total_s

    @property
    def bare_pps(self) -> float:
        return self.bare_pages / self.bare_s


def sample_pdfs() -> list[Path]:
    pdfs = sorted(p for p in SAMPLES_DIR.glob("*.pdf") if p.name not in SKIPPED_PDFS)
    return sorted(pdfs, key=lambda p: p.name != MAIN_PDF)  # the 27-page one first


def bare_extract(data: bytes) -> int:
    """pypdfium2 text of every page, nothing else; the number of pages."""
    document = pypdfium2.PdfDocument(data)
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return len(document)
    finally:
        document.close()


async def ingest_one(
    index: KnowledgeIndex, organization_id: str, data: bytes, result: IngestResult
) -> None:
    t0 = time.perf_counter()
    parsed = parse_document(data)
    t1 = time.perf_counter()
    chunks = chunk_segments(parsed.segments)
    t2 = time.perf_counter()
    for chunk in chunks:
        document_vector(chunk.text)
    t3 = time.perf_counter()
    document_id = str(uuid.uuid4())
    await index.upsert(
        organization_id,
        document_id,
        [
            IndexedChunk(str(uuid.uuid4()), c.text, c.citation, asdict(c.location), c.index)
            for c in chunks
        ],
    )
    t4 = time.perf_counter()
    result.documents += 1
    result.pages += parsed.page_count or 0
    result.chunks += len(chunks)
    result.parse_s += t1 - t0
    result.chunk_s += t2 - t1
    result.vectors_s += t3 - t2
    result.upsert_s += t4 - t3


async def bench_ingest(repeat: int, workdir: Path) -> IngestResult:
    files = [(p.name, p.read_bytes()) for p in sample_pdfs()]
    # pep-0008 `repeat` times, the small PDFs as many times (their pages are a small share).
    workload = [(name, data) for _ in range(repeat) for name, data in files]
    result = IngestResult(files={name: repeat for name, _ in files})
    organization_id = str(uuid.uuid4())

    warm = KnowledgeIndex(path=str(workdir / "qdrant-ingest-warmup"))
    await warm.ensure_collection()
    for _, data in files:  # imports, pdfium, stemmer caches, Qdrant local code paths
        bare_extract(data)
        await ingest_one(warm, organization_id, data, IngestResult())
    await warm.close()

    started = time.perf_counter()
    for _, data in workload:
        result.bare_pages += bare_extract(data)
    result.bare_s = time.perf_counter() - started

    index = KnowledgeIndex(path=str(workdir / "qdrant-ingest"))
    await index.ensure_collection()
    for _, data in workload:
        await ingest_one(index, organization_id, data, result)
    await index.close()
    return result


# --- 2. retrieval --------------------------------------------------------------------------------


@dataclass
class RetrievalResult:
    chunks_org_a: int
    chunks_org_b: int
    queries_requested: int
    build_s: float
    upsert_s: float
    latencies_s: list[float]
    empty_results: int
    degraded: int
    foreign_hits: int
    mean_hits: float


def corpus_sentences() -> list[str]:
    """Sentences of every sample (all formats) that parse, 6 to 60 words long."""
    sentences: list[str] = []
    for path in sorted(SAMPLES_DIR.iterdir()):
        if path.name in SKIPPED_PDFS or path.name == "README.md":
            continue
        try:
            parsed = parse_document(path.read_bytes(), filename=path.name)
        except ParseError:
            continue
        for segment in parsed.segments:
            for sentence in _SENTENCE.split(" ".join(segment.text.split())):
                if 6 <= len(sentence.split()) <= 60:
                    sentences.append(sentence)
    return sentences


def synthetic_chunks(sentences: list[str], count: int, rng: random.Random) -> list[str]:
    """`count` chunk texts of 80-350 words, each a run of consecutive corpus sentences."""
    texts: list[str] = []
    while len(texts) < count:
        target = rng.randint(80, 350)
        start = rng.randrange(len(sentences))
        words = 0
        parts: list[str] = []
        for sentence in sentences[start:] + sentences[:start]:
            parts.append(sentence)
            words += len(sentence.split())
            if words >= target:
                break
        texts.append(" ".join(parts))
    return texts


def queries(sentences: list[str], count: int, rng: random.Random) -> list[str]:
    """Phrases of 3-7 consecutive words drawn from corpus sentences."""
    found: list[str] = []
    while len(found) < count:
        words = rng.choice(sentences).split()
        size = rng.randint(3, 7)
        start = rng.randrange(max(1, len(words) - size))
        found.append(" ".join(words[start : start + size]))
    return found


async def upsert_documents(
    index: KnowledgeIndex, organization_id: str, texts: list[str], per_document: int
) -> list[str]:
    document_ids: list[str] = []
    for start in range(0, len(texts), per_document):
        document_id = str(uuid.uuid4())
        document_ids.append(document_id)
        batch = [
            IndexedChunk(
                str(uuid.uuid4()), text, f"p. {i + 1}", {"page": i + 1, "heading_path": []}, i
            )
            for i, text in enumerate(texts[start : start + per_document])
        ]
        await index.upsert(organization_id, document_id, batch)
    return document_ids


async def bench_retrieval(
    chunks: int, other_chunks: int, query_count: int, budget_s: float, workdir: Path
) -> RetrievalResult:
    """Up to `query_count` queries, stopping early once `budget_s` seconds of queries ran."""
    rng = random.Random(8)
    started = time.perf_counter()
    sentences = corpus_sentences()
    texts_a = synthetic_chunks(sentences, chunks, rng)
    texts_b = synthetic_chunks(sentences, other_chunks, rng)
    phrases = queries(sentences, query_count, rng)
    build_s = time.perf_counter() - started

    org_a, org_b = str(uuid.uuid4()), str(uuid.uuid4())
    index = KnowledgeIndex(path=str(workdir / "qdrant-retrieval"))
    await index.ensure_collection()
    started = time.perf_counter()
    documents_a = set(await upsert_documents(index, org_a, texts_a, per_document=50))
    await upsert_documents(index, org_b, texts_b, per_document=50)
    upsert_s = time.perf_counter() - started

    for phrase in queries(sentences, 5, random.Random(1)):  # warm-up
        await index.search(org_a, phrase, limit=8)
    latencies: list[float] = []
    empty = degraded = foreign = hits = 0
    deadline = time.perf_counter() + budget_s
    for phrase in phrases:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        result = await index.search(org_a, phrase, limit=8)
        latencies.append(time.perf_counter() - t0)
        degraded += result.degraded
        empty += not result.hits
        hits += len(result.hits)
        foreign += sum(hit.document_id not in documents_a for hit in result.hits)
    await index.close()
    return RetrievalResult(
        chunks_org_a=len(texts_a),
        chunks_org_b=len(texts_b),
        queries_requested=len(phrases),
        build_s=build_s,
        upsert_s=upsert_s,
        latencies_s=latencies,
        empty_results=empty,
        degraded=degraded,
        foreign_hits=foreign,
        mean_hits=hits / len(latencies),
    )


# --- 3. time to first token ----------------------------------------------------------------------


@dataclass
class TTFTResult:
    raw_s: list[float]
    sdk_s: list[float]
    gateway_s: list[float]
    traces: int


def make_request() -> ChatRequest:
    return ChatRequest(
        messages=[
            ChatMessage("system", "You are a concise assistant."),
            ChatMessage("user", "Quote the Zen of Python, briefly."),
        ],
        model="claude-fake",
        max_tokens=256,
    )


async def ttft_raw(client: httpx.AsyncClient, url: str) -> float:
    """Raw HTTP: POST the SDK's body, read SSE lines until the first text delta."""
    body = {
        "model": "claude-fake",
        "max_tokens": 256,
        "system": "You are a concise assistant.",
        "messages": [{"role": "user", "content": "Quote the Zen of Python, briefly."}],
        "stream": True,
    }
    headers = {"x-api-key": "x", "anthropic-version": "2023-06-01"}
    first: float | None = None
    started = time.perf_counter()
    async with client.stream("POST", f"{url}/v1/messages", json=body, headers=headers) as reply:
        reply.raise_for_status()
        async for line in reply.aiter_lines():
            if first is None and line.startswith("data:") and '"text_delta"' in line:
                first = time.perf_counter()
    if first is None:
        raise RuntimeError("raw stream: no text delta")
    return first - started


async def ttft_sdk(provider: AnthropicProvider) -> float:
    first: float | None = None
    started = time.perf_counter()
    async for event in provider.stream(make_request()):
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter()
    if first is None:
        raise RuntimeError("SDK stream: no text delta")
    return first - started


async def ttft_gateway(gateway: LLMGateway) -> float:
    first: float | None = None
    started = time.perf_counter()
    async for event in gateway.stream(make_request(), CallContext(purpose="bench")):
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter()
    if first is None:
        raise RuntimeError("gateway stream: no text delta")
    return first - started


async def bench_ttft(streams: int, warmup: int, database_url: str) -> TTFTResult:
    fake = FakeLLM(ttft_s=0.05, chunk_interval_s=0.005, reply=REPLY)
    raw: list[float] = []
    sdk: list[float] = []
    gw: list[float] = []
    with ServerThread(fake.app()) as server:
        db = Database(database_url)
        client = httpx.AsyncClient(timeout=30)
        provider = AnthropicProvider(api_key="x", base_url=server.url)
        gateway = LLMGateway([AnthropicProvider(api_key="x", base_url=server.url)], db)
        try:
            # Interleaved, one stream at a time, so that drift hits the three sides alike.
            for i in range(warmup + streams):
                measured = i >= warmup
                for samples, measure in (
                    (raw, ttft_raw(client, server.url)),
                    (sdk, ttft_sdk(provider)),
                    (gw, ttft_gateway(gateway)),
                ):
                    value = await measure
                    if measured:
                        samples.append(value)
                fake.received.clear()
            async with db.session() as session:
                traces = int(await session.scalar(select(func.count()).select_from(LLMTrace)) or 0)
        finally:
            await client.aclose()
            await provider.close()
            await gateway.close()
            await db.dispose()
    return TTFTResult(raw_s=raw, sdk_s=sdk, gateway_s=gw, traces=traces)


# --- report --------------------------------------------------------------------------------------


def table(ingest: IngestResult, retrieval: RetrievalResult, ttft: TTFTResult) -> str:
    ratio = ingest.ours_pps / ingest.bare_pps
    lines = [
        "1. Ingest (sample PDFs, end to end vs bare pypdfium2 text extraction)",
        f"{'':34} {'ours':>10} {'bare':>10} {'ratio':>7} {'target':>7}",
        f"{'pages/s':34} {ingest.ours_pps:10.1f} {ingest.bare_pps:10.1f} {ratio:6.2f}x"
        f" {'>=' + str(INGEST_TARGET):>6}x {'ok' if ratio >= INGEST_TARGET else 'MISS'}",
        f"   {ingest.documents} documents, {ingest.pages} pages, {ingest.chunks} chunks;"
        f" ours {ingest.total_s:.3f} s, bare {ingest.bare_s:.3f} s",
        "   where ours spends its time:",
    ]
    for name, seconds in (
        ("parse (parse_document)", ingest.parse_s),
        ("chunk (chunk_segments)", ingest.chunk_s),
        ("vectors (document_vector)", ingest.vectors_s),
        ("upsert (KnowledgeIndex.upsert)", ingest.upsert_s),
    ):
        lines.append(
            f"     {name:31} {seconds:8.3f} s {seconds / ingest.total_s:6.1%}"
            f"  {seconds / ingest.pages * 1000:7.2f} ms/page"
        )
    lat = summary_ms(retrieval.latencies_s)
    lines += [
        "",
        f"2. Retrieval: KnowledgeIndex.search(limit=8), {retrieval.chunks_org_a} chunks of the"
        f" organization + {retrieval.chunks_org_b} of another",
        "   (local mode: brute force in-process, on the event loop; not a Qdrant server)",
        f"{'':34} {'p50':>10} {'p95':>10} {'p99':>10} {'mean':>10}",
        f"{'latency ms (' + str(lat['count']) + ' queries)':34} {lat['p50_ms']:10.2f}"
        f" {lat['p95_ms']:10.2f} {lat['p99_ms']:10.2f} {lat['mean_ms']:10.2f}",
        f"   {lat['count']} of {retrieval.queries_requested} queries run (time budget);"
        f" mean hits {retrieval.mean_hits:.2f}, empty {retrieval.empty_results},"
        f" degraded {retrieval.degraded}, other tenant's hits {retrieval.foreign_hits};"
        f" upsert of all chunks {retrieval.upsert_s:.1f} s"
        f" ({(retrieval.chunks_org_a + retrieval.chunks_org_b) / retrieval.upsert_s:.0f}"
        " chunks/s)",
    ]
    raw, sdk, gw = (summary_ms(s) for s in (ttft.raw_s, ttft.sdk_s, ttft.gateway_s))
    added_gw = gw["p50_ms"] - sdk["p50_ms"]
    added_sdk = sdk["p50_ms"] - raw["p50_ms"]
    lines += [
        "",
        f"3. Time to first token, concurrency 1, {raw['count']} streams each"
        " (fake: ttft 50 ms, a delta every 5 ms; first text delta is its 4th event, ~65 ms)",
        f"{'':34} {'p50 ms':>10} {'p95 ms':>10} {'p99 ms':>10}",
    ]
    for name, s in (
        ("raw httpx (floor)", raw),
        ("Anthropic SDK (AnthropicProvider)", sdk),
        ("LLMGateway", gw),
    ):
        lines.append(f"{name:34} {s['p50_ms']:10.2f} {s['p95_ms']:10.2f} {s['p99_ms']:10.2f}")
    lines += [
        f"{'added by the SDK over raw HTTP':34} {added_sdk:10.2f}",
        f"{'added by the gateway (gw - SDK)':34} {added_gw:10.2f}"
        f"   target <= {GATEWAY_TARGET_MS:g} ms"
        f" {'ok' if added_gw <= GATEWAY_TARGET_MS else 'MISS'}",
        f"   gateway traces stored: {ttft.traces}",
    ]
    return "\n".join(lines)


KNOWLEDGE_PACKAGES = ("parmenid", "qdrant-client", "pypdfium2", "anthropic", "httpx", "sqlalchemy")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark ingestion, retrieval and the LLM gateway's time to first token."
    )
    parser.add_argument("--repeat", type=int, default=10, help="times each sample PDF is ingested")
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks of the searched org")
    parser.add_argument("--other-chunks", type=int, default=300, help="chunks of another org")
    parser.add_argument("--queries", type=int, default=300, help="at most this many queries")
    parser.add_argument(
        "--query-budget",
        type=float,
        default=60.0,
        help="seconds of queries after which the retrieval measurement stops early",
    )
    parser.add_argument("--streams", type=int, default=50, help="measured streams per side")
    parser.add_argument("--warmup-streams", type=int, default=5)
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="parmenid-bench-knowledge-"))
    try:
        database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        upgrade_sync(database_url)

        print(f"ingest: {len(sample_pdfs())} sample PDFs x {args.repeat} ...", flush=True)
        ingest = asyncio.run(bench_ingest(args.repeat, workdir))
        print(f"retrieval: {args.chunks} + {args.other_chunks} chunks ...", flush=True)
        retrieval = asyncio.run(
            bench_retrieval(
                args.chunks, args.other_chunks, args.queries, args.query_budget, workdir
            )
        )
        print(f"time to first token: {args.streams} streams per side ...", flush=True)
        ttft = asyncio.run(bench_ttft(args.streams, args.warmup_streams, database_url))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report = table(ingest, retrieval, ttft)
    print()
    print(report)

    raw, sdk, gw = (summary_ms(s) for s in (ttft.raw_s, ttft.sdk_s, ttft.gateway_s))
    document = {
        "started": started.isoformat(),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "packages": package_versions(KNOWLEDGE_PACKAGES),
        "git": git_state(),
        "ingest": {
            "files": ingest.files,
            "documents": ingest.documents,
            "pages": ingest.pages,
            "chunks": ingest.chunks,
            "ours_pages_per_s": round(ingest.ours_pps, 2),
            "bare_pages_per_s": round(ingest.bare_pps, 2),
            "ratio": round(ingest.ours_pps / ingest.bare_pps, 4),
            "target": INGEST_TARGET,
            "seconds": {
                "parse": ingest.parse_s,
                "chunk": ingest.chunk_s,
                "vectors": ingest.vectors_s,
                "upsert": ingest.upsert_s,
                "total": ingest.total_s,
                "bare": ingest.bare_s,
            },
        },
        "retrieval": {
            "mode": "local (brute force in-process)",
            "chunks_org_a": retrieval.chunks_org_a,
            "chunks_org_b": retrieval.chunks_org_b,
            "queries_requested": retrieval.queries_requested,
            "corpus_build_s": retrieval.build_s,
            "upsert_s": retrieval.upsert_s,
            "latency": summary_ms(retrieval.latencies_s),
            "latencies_ms": [round(s * 1000, 3) for s in retrieval.latencies_s],
            "empty_results": retrieval.empty_results,
            "degraded": retrieval.degraded,
            "foreign_hits": retrieval.foreign_hits,
            "mean_hits": retrieval.mean_hits,
        },
        "ttft": {
            "fake": {"ttft_s": 0.05, "chunk_interval_s": 0.005, "reply_words": len(REPLY.split())},
            "raw_httpx": raw,
            "sdk": sdk,
            "gateway": gw,
            "added_by_gateway_p50_ms": round(gw["p50_ms"] - sdk["p50_ms"], 3),
            "added_by_sdk_p50_ms": round(sdk["p50_ms"] - raw["p50_ms"], 3),
            "target_ms": GATEWAY_TARGET_MS,
            "traces_stored": ttft.traces,
            "samples_ms": {
                "raw_httpx": [round(s * 1000, 3) for s in ttft.raw_s],
                "sdk": [round(s * 1000, 3) for s in ttft.sdk_s],
                "gateway": [round(s * 1000, 3) for s in ttft.gateway_s],
            },
        },
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / f"knowledge-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
