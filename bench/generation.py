"""Benchmark generation: a 10-slide deck's wall time against the LLM's critical path.

    .venv/bin/python bench/generation.py                 # latency 0.5 s per call, p = 1, 4, 10
    .venv/bin/python bench/generation.py --latency 1.0 --rounds 3

The model is the fake Anthropic server of the tests (tests/fakes/llm_server.py) on a loopback
socket, reached through the real SDK; every call takes `--latency` seconds and returns a grounded
outline or slide (tests/fakes/deck_model.py). The pipeline is ours, in this process, on SQLite
and the local Qdrant in a temporary folder: the outline job, then the slides job with slide
concurrency p, run by the same job handler the worker runs (retrieval, prompt, gateway, parsing,
one transaction and one progress event per slide).

The physical limit is the critical path of the model's latencies: one outline call, then
⌈10/p⌉ rounds of slide calls, i.e. latency × (1 + ⌈10/p⌉). Printed per p: our wall time (median
of the rounds), that limit, their ratio (target ≤ 1.15×), and the speed-up over p = 1 (ideal:
(1 + 10) / (1 + ⌈10/p⌉)). Writes JSON into bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SAMPLES = REPO_DIR.parent / "shared" / "samples"
if str(REPO_DIR) not in sys.path:  # `tests.fakes` is imported from the repository root
    sys.path.insert(0, str(REPO_DIR))

from tests.fakes.deck_model import deck_reply  # noqa: E402
from tests.fakes.llm_server import FakeLLM, Received  # noqa: E402
from tests.fakes.server import ServerThread  # noqa: E402

from machine import git_state, package_versions  # noqa: E402
from parmenid.config import Settings  # noqa: E402
from parmenid.core.jobs import JobContext  # noqa: E402
from parmenid.identity.models import Organization  # noqa: E402
from parmenid.knowledge.ingestion import add_document  # noqa: E402
from parmenid.migrations.runner import upgrade  # noqa: E402
from parmenid.presentai.generation.models import GenerationJob  # noqa: E402
from parmenid.presentai.generation.service import GenerationService  # noqa: E402
from parmenid.presentai.generation.tasks import generation_handler  # noqa: E402
from parmenid.presentai.presentations.models import (  # noqa: E402
    Presentation,
    PresentationSource,
)
from parmenid.presentai.projects.models import Project  # noqa: E402
from parmenid.runtime import Runtime  # noqa: E402

SLIDES = 10
TARGET = 1.15
PACKAGES = ("parmenid", "anthropic", "sqlalchemy", "qdrant-client")


def _reply(received: Received) -> dict[str, Any]:
    return deck_reply(received, outline_items=SLIDES)


async def _deck(runtime: Runtime, organization: uuid.UUID, document: uuid.UUID) -> uuid.UUID:
    async with runtime.db.session() as session:
        project = Project(organization_id=organization, name="Bench", search_text="bench")
        session.add(project)
        await session.flush()
        presentation = Presentation(
            organization_id=organization,
            project_id=project.id,
            title="Python code style",
            parameters={"slide_count": SLIDES, "language": "en"},
        )
        session.add(presentation)
        await session.flush()
        session.add(
            PresentationSource(
                organization_id=organization,
                presentation_id=presentation.id,
                document_id=document,
            )
        )
        return presentation.id


async def _run(runtime: Runtime, job_id: uuid.UUID) -> None:
    result = await generation_handler(runtime)(
        {"generation_job_id": str(job_id)}, JobContext(job_id, 1, runtime.db)
    )
    async with runtime.db.session() as session:
        job = await session.get(GenerationJob, job_id)
        assert job is not None, result
        assert job.status == "succeeded", (result, job.error_message)


async def one_deck(runtime: Runtime, organization: uuid.UUID, document: uuid.UUID) -> float:
    """Wall time of outline + slides for a new 10-slide presentation."""
    presentation_id = await _deck(runtime, organization, document)
    started = time.perf_counter()
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, presentation_id)
        assert presentation is not None
        outline = await GenerationService(session, runtime).start_outline(presentation, None)
    await _run(runtime, outline.id)
    async with runtime.db.session() as session:
        presentation = await session.get(Presentation, presentation_id)
        assert presentation is not None
        slides = await GenerationService(session, runtime).start_slides(presentation, None)
    await _run(runtime, slides.id)
    return time.perf_counter() - started


async def main(latency: float, rounds: int, concurrencies: list[int]) -> dict[str, Any]:
    fake = FakeLLM(structured=_reply, latency_s=latency)
    results: dict[str, Any] = {"latency_s": latency, "rounds": rounds, "runs": {}}
    with ServerThread(fake.app()) as server, tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            environment="test",
            data_dir=Path(folder),
            log_level="WARNING",
            auth={"jwt_secret": "bench-secret-that-is-long-enough-0123456789abcdef"},
            llm={
                "fallback_chain": ["anthropic"],
                "anthropic_api_key": "bench",
                "anthropic_base_url": server.url,
            },
        )
        await upgrade(settings.effective_database_url)
        runtime = Runtime.build(settings)
        try:
            async with runtime.db.session() as session:
                organization = Organization(name="Bench", slug="bench", plan="enterprise")
                session.add(organization)
                await session.flush()
                assert runtime.storage is not None
                data = (SAMPLES / "pep-0008.pdf").read_bytes()
                document = await add_document(
                    session,
                    runtime.storage,
                    organization.id,
                    "pep-0008.pdf",
                    data,
                    queue_job=False,
                )
            await runtime.ingestor().ingest(document.id)
            await one_deck(runtime, organization.id, document.id)  # warm-up
            for p in concurrencies:
                runtime.settings.presentai.slide_concurrency = p
                walls = [
                    await one_deck(runtime, organization.id, document.id) for _ in range(rounds)
                ]
                limit = latency * (1 + math.ceil(SLIDES / p))
                results["runs"][str(p)] = {
                    "wall_s": [round(w, 4) for w in walls],
                    "median_s": round(statistics.median(walls), 4),
                    "critical_path_s": round(limit, 4),
                }
        finally:
            await runtime.close()
    serial = results["runs"].get("1", {}).get("median_s")
    print(f"\n10-slide deck, model latency {latency:.2f} s per call, {rounds} round(s)\n")
    print(
        f"{'p':>3} {'ours (s)':>10} {'limit (s)':>10} {'ratio':>7} {'target':>7} "
        f"{'speed-up':>9} {'ideal':>6}"
    )
    for p, run in results["runs"].items():
        ratio = run["median_s"] / run["critical_path_s"] if latency else float("inf")
        ideal = (1 + SLIDES) / (1 + math.ceil(SLIDES / int(p)))
        speedup = serial / run["median_s"] if serial else float("nan")
        run.update(ratio=round(ratio, 4), speedup=round(speedup, 3), ideal_speedup=round(ideal, 3))
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(
            f"{p:>3} {run['median_s']:>10.3f} {run['critical_path_s']:>10.3f} {ratio:>6.3f}× "
            f"{verdict:>7} {speedup:>8.2f}× {ideal:>5.2f}×"
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model call")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 10])
    args = parser.parse_args()
    found = asyncio.run(main(args.latency, args.rounds, args.concurrency))
    found.update(
        git=git_state(),
        packages=package_versions(PACKAGES),
        at=datetime.now(UTC).isoformat(),
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"generation-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(found, indent=2), encoding="utf-8")
    print(f"\nwritten to {path.relative_to(REPO_DIR)}")
