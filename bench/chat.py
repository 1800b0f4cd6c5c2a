"""Benchmark the site chat's SSE stream: time to first chunk, and streams held at once.

    .venv/bin/python bench/chat.py            # SQLite in a temporary folder
    .venv/bin/python bench/chat.py --database-url postgresql://postgres@127.0.0.1:5432/test

Three processes on loopback: our site app (`parmenid serve site`, the demo bot seeded by
`parmenid demo seed`), a fake Anthropic server (tests/fakes/llm_server.py, reached through the
real SDK), and this load client. Rate limits are off in the server for the run.

1. Time to first chunk: from sending `POST /api/v1/chat/{avatar}/stream` to the first `chunk`
   event, against the fake's own time to its first text delta asked directly with the same
   settings, at concurrency 1 and 20. Target: ≤ 10 ms added at p50 with 20 at once.
2. Streams held: N streams opened (10 at a time) and kept open (the fake writes slowly); then,
   with all N open, probes: our time to first chunk against the fake's own, one after the
   other. The largest N whose p95 added stays ≤ 50 ms, and the server's memory per open stream
   (VmRSS). Target: ≥ 500 streams in one process.
Prints a table and writes JSON into bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(REPO_DIR) not in sys.path:  # `tests.fakes` is imported from the repository root
    sys.path.insert(0, str(REPO_DIR))

from machine import git_state, package_versions  # noqa: E402
from servers import HOST, Server, clean_env, free_port  # noqa: E402
from stats import summary_ms  # noqa: E402

API = "/api/v1"
QUESTION = "Сколько стоит тариф Pro?"  # answered from the demo bot's knowledge
TTFC_TARGET_MS = 10.0
HOLD_TARGET_MS = 50.0
HOLD_TARGET_N = 500
RAMP = 10  # streams opened at a time while ramping up to a level
HOLD_INTERVAL, HOLD_WORDS = 0.2, 200  # a held answer: a word every 200 ms for 40 s
PACKAGES = ("parmenid", "fastapi", "starlette", "uvicorn", "sqlalchemy", "anthropic", "httpx")


def serve_fake(port: int, ttft: float, interval: float, words: int) -> None:
    """`--serve-fake`: the fake Anthropic API in this process (its own CPU time)."""
    import uvicorn
    from tests.fakes.llm_server import FakeLLM

    fake = FakeLLM(
        reply=" ".join(f"word{n}" for n in range(words)), ttft_s=ttft, chunk_interval_s=interval
    )
    app = fake.app()

    async def forget(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        fake.received.clear()  # a long run must not keep every request
        await app(scope, receive, send)

    uvicorn.run(forget, host=HOST, port=port, log_level="warning", loop="uvloop")


@dataclass
class Setup:
    site: Server
    fake: Server
    avatar_id: str
    fake_url: str
    database: str


def _env(data_dir: Path, database_url: str | None, fake_url: str, site_port: int) -> dict[str, str]:
    extra = {
        "PARMENID_DATA_DIR": str(data_dir),
        "PARMENID_LOG_LEVEL": "WARNING",
        "PARMENID_RATE_LIMIT__ENABLED": "false",
        "PARMENID_SITE__HOST": HOST,
        "PARMENID_SITE__PORT": str(site_port),
        "PARMENID_LLM__FALLBACK_CHAIN": "anthropic",
        "PARMENID_LLM__ANTHROPIC_API_KEY": "bench-key",
        "PARMENID_LLM__ANTHROPIC_BASE_URL": fake_url,
        "PARMENID_LLM__PLAN_TOKEN_LIMITS": '{"free": 1000000000000000}',
    }
    if database_url:
        extra["PARMENID_DATABASE_URL"] = database_url
    return clean_env(extra)


def start(args: argparse.Namespace, work: Path, interval: float, words: int) -> Setup:
    fake_port, site_port = free_port(), free_port()
    fake_url = f"http://{HOST}:{fake_port}"
    fake = Server(
        "fake-llm",
        [
            sys.executable,
            __file__,
            "--serve-fake",
            str(fake_port),
            "--ttft",
            str(args.ttft),
            "--interval",
            str(interval),
            "--words",
            str(words),
        ],
        clean_env({}),
        fake_port,
        "/health",
        work / f"fake-{fake_port}.log",
        REPO_DIR,
    )
    env = _env(work / "data", args.database_url, fake_url, site_port)
    seeded = subprocess.run(
        [str(REPO_DIR / ".venv/bin/parmenid"), "demo", "seed"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_DIR,
    )
    avatar = re.search(r"demo chat bot ([0-9a-f-]{36})", seeded.stdout)
    if avatar is None:
        raise RuntimeError(f"demo seed printed no bot id:\n{seeded.stdout}\n{seeded.stderr}")
    site = Server(
        "site",
        [str(REPO_DIR / ".venv/bin/parmenid"), "serve", "site"],
        env,
        site_port,
        f"{API}/health",
        work / f"site-{site_port}.log",
        REPO_DIR,
    )
    fake.start()
    site.start()
    return Setup(site, fake, avatar.group(1), fake_url, args.database_url or "SQLite (WAL)")


async def fake_first_delta(client: httpx.AsyncClient, fake_url: str) -> float:
    """The fake's own time to its first text delta, asked as our provider asks it."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 800,
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    started = time.perf_counter()
    async with client.stream("POST", f"{fake_url}/v1/messages", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: content_block_delta"):
                return time.perf_counter() - started
    raise RuntimeError("the fake sent no text delta")


async def our_first_chunk(
    client: httpx.AsyncClient,
    base: str,
    avatar: str,
    hold: asyncio.Event | None = None,
    opened: list[float] | None = None,
    first_seen: asyncio.Event | None = None,
) -> float:
    """Our time to the first `chunk` event (a new session per stream: no per-session cap)."""
    created = await client.post(f"{base}{API}/chat/{avatar}/sessions?source=web")
    session_id = created.json()["id"]
    url = f"{base}{API}/chat/{avatar}/stream"
    started = time.perf_counter()
    first: float | None = None
    async with client.stream(
        "POST", url, params={"session_id": session_id, "content": QUESTION}
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"stream answered {response.status_code}")
        async for line in response.aiter_lines():
            if first is None and line.startswith("event: chunk"):
                first = time.perf_counter() - started
                if hold is None:
                    break
                if opened is not None:
                    opened.append(first)
                if first_seen is not None:
                    first_seen.set()
            # A held stream is read as a browser reads it, until `hold` is set.
            if first is not None and (hold is None or hold.is_set()):
                break
    if first is None:
        raise RuntimeError("no chunk arrived")
    return first


async def at_concurrency(n: int, total: int, make: Any) -> list[float]:
    gate = asyncio.Semaphore(n)

    async def one() -> float:
        async with gate:
            result: float = await make()
            return result

    return list(await asyncio.gather(*(one() for _ in range(total))))


async def _watch_rss(pid: int | None, stop: asyncio.Event) -> int:
    """The highest VmRSS of `pid` seen until `stop` is set."""
    peak = 0
    while not stop.is_set():
        peak = max(peak, rss_kib(pid))
        await asyncio.sleep(0.1)
    return peak


def rss_kib(pid: int | None) -> int:
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure_ttfc(args: argparse.Namespace, setup: Setup) -> dict[str, Any]:
    base = f"http://{HOST}:{setup.site.port}"
    results: dict[str, Any] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(5):  # warm-up: imports, caches, connections
            await our_first_chunk(client, base, setup.avatar_id)
            await fake_first_delta(client, setup.fake_url)
        for concurrency in (1, 20):
            total = args.streams if concurrency > 1 else args.streams_c1
            ours = await at_concurrency(
                concurrency, total, lambda: our_first_chunk(client, base, setup.avatar_id)
            )
            fake = await at_concurrency(
                concurrency, total, lambda: fake_first_delta(client, setup.fake_url)
            )
            results[f"c{concurrency}"] = {"ours": summary_ms(ours), "fake": summary_ms(fake)}
    return results


async def held_stream(
    client: httpx.AsyncClient,
    base: str,
    avatar: str,
    hold: asyncio.Event,
    opened: list[float],
    starting: asyncio.Semaphore,
) -> float:
    """One stream kept open until `hold` is set; it takes a `starting` slot until its first
    chunk, so a level ramps up a few streams at a time."""
    first = asyncio.Event()
    async with starting:
        stream = asyncio.create_task(our_first_chunk(client, base, avatar, hold, opened, first))
        seen = asyncio.create_task(first.wait())
        await asyncio.wait({stream, seen}, return_when=asyncio.FIRST_COMPLETED)
        seen.cancel()
    return await stream


async def measure_hold(args: argparse.Namespace, setup: Setup) -> list[dict[str, Any]]:
    base = f"http://{HOST}:{setup.site.port}"
    levels = [int(level) for level in args.levels.split(",")]
    rows: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=max(levels) + 50, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await our_first_chunk(client, base, setup.avatar_id)
        for level in levels:
            idle = rss_kib(setup.site.pid)
            hold = asyncio.Event()
            watcher = asyncio.create_task(_watch_rss(setup.site.pid, hold))
            opened: list[float] = []
            starting = asyncio.Semaphore(RAMP)  # at most RAMP streams waiting for a first chunk

            started = time.perf_counter()
            tasks = [
                asyncio.create_task(
                    held_stream(client, base, setup.avatar_id, hold, opened, starting)
                )
                for _ in range(level)
            ]
            while len(opened) + sum(t.done() for t in tasks) < level:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            open_seconds = time.perf_counter() - started
            # With `level` streams open: probes of ours and straight to the fake, interleaved.
            ours, fake = [], []
            for _ in range(args.probes):
                ours.append(await our_first_chunk(client, base, setup.avatar_id))
                fake.append(await fake_first_delta(client, setup.fake_url))
            hold.set()
            peak = max(await watcher, rss_kib(setup.site.pid))
            # The server finishes answers whose reader left: let them end before the next level.
            await asyncio.sleep(max(0.0, HOLD_INTERVAL * HOLD_WORDS + 2 - open_seconds))
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            failed = sum(1 for o in outcomes if not isinstance(o, float))
            ours_ms, fake_ms = summary_ms(ours), summary_ms(fake)
            added_p95 = ours_ms["p95_ms"] - fake_ms["p95_ms"]
            rows.append(
                {
                    "streams": level,
                    "failed": failed,
                    "ours": ours_ms,
                    "fake": fake_ms,
                    "added_p95_ms": round(added_p95, 1),
                    "rss_idle_kib": idle,
                    "rss_peak_kib": peak,
                    "rss_per_stream_kib": round((peak - idle) / level, 1),
                    "open_seconds": round(open_seconds, 2),
                }
            )
            print(
                f"    {level} streams: p95 added {added_p95:+.1f} ms, failed {failed}, "
                f"RSS {idle // 1024} → {peak // 1024} MiB",
                flush=True,
            )
            if failed or added_p95 > 4 * HOLD_TARGET_MS:
                break
    return rows


def table(ttfc: dict[str, Any], hold: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'metric':44} {'ours':>9} {'fake':>9} {'added':>9} {'target':>9}  result",
    ]
    for key in ("c1", "c20"):
        ours, fake = ttfc[key]["ours"], ttfc[key]["fake"]
        for q in ("p50", "p95"):
            added = ours[f"{q}_ms"] - fake[f"{q}_ms"]
            target = f"≤ +{TTFC_TARGET_MS:g}" if key == "c20" and q == "p50" else "—"
            result = ("met" if added <= TTFC_TARGET_MS else "MISSED") if target != "—" else ""
            lines.append(
                f"{f'first chunk, concurrency {key[1:]}, {q} (ms)':44} {ours[f'{q}_ms']:9.1f} "
                f"{fake[f'{q}_ms']:9.1f} {added:+9.1f} {target:>9}  {result}"
            )
    held = [row for row in hold if not row["failed"] and row["added_p95_ms"] <= HOLD_TARGET_MS]
    best = max((row["streams"] for row in held), default=0)
    lines.append(
        f"{'streams held with p95 added ≤ 50 ms':44} {best:9d} {'—':>9} {'—':>9} "
        f"{f'≥ {HOLD_TARGET_N}':>9}  {'met' if best >= HOLD_TARGET_N else 'MISSED'}"
    )
    for row in hold:
        label = f"  {row['streams']} open"
        lines.append(
            f"{label + ': p95 first chunk (ms)':44} "
            f"{row['ours'].get('p95_ms', float('nan')):9.1f} {row['fake'].get('p95_ms', 0):9.1f} "
            f"{row['added_p95_ms']:+9.1f} {'≤ +50':>9}  "
            f"{'met' if row['added_p95_ms'] <= HOLD_TARGET_MS and not row['failed'] else 'MISSED'}"
        )
        lines.append(
            f"{label + ': server memory per stream (KiB)':44} "
            f"{row['rss_per_stream_kib']:9.1f} {'—':>9} {'—':>9} {'—':>9}"
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--ttft", type=float, default=0.05, help="fake: first event after (s)")
    parser.add_argument("--streams", type=int, default=100, help="streams at concurrency 20")
    parser.add_argument("--streams-c1", type=int, default=30, help="streams at concurrency 1")
    parser.add_argument("--levels", default="50,100,200,500", help="streams held at once")
    parser.add_argument("--probes", type=int, default=30, help="probes per level, each side")
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--words", type=int, default=40, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    fast = start(args, work / "fast", interval=0.0, words=40)
    try:
        print("1. time to first chunk ...", flush=True)
        ttfc = await measure_ttfc(args, fast)
    finally:
        fast.site.stop()
        fast.fake.stop()
    slow = start(args, work / "slow", interval=HOLD_INTERVAL, words=HOLD_WORDS)
    try:
        print("2. streams held at once ...", flush=True)
        hold = await measure_hold(args, slow)
    finally:
        slow.site.stop()
        slow.fake.stop()
    return {"ttfc": ttfc, "hold": hold, "database": fast.database}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_fake is not None:
        serve_fake(args.serve_fake, args.ttft, args.interval, args.words)
        return 0
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    with tempfile.TemporaryDirectory(prefix="parmenid-chat-bench-") as folder:
        work = Path(folder)
        for sub in ("fast", "slow"):
            (work / sub).mkdir()
        started = time.time()
        measured = asyncio.run(run(args, work))
    lines = table(measured["ttfc"], measured["hold"])
    print()
    print(
        f"Chat stream, {measured['database']}, fake TTFT {args.ttft * 1000:.0f} ms; rate "
        "limits off in the server for the run."
    )
    print("\n".join(lines))
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"chat-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "started": started,
                "duration_s": round(time.time() - started, 1),
                "settings": vars(args),
                **measured,
                "table": lines,
                "git": git_state(),
                "packages": package_versions(PACKAGES),
                "cpus": os.cpu_count(),
                "run_id": uuid.uuid4().hex,
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nresults: {out.relative_to(REPO_DIR)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
