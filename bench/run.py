"""Benchmark our site app against bare baselines, in one run that stops by itself.

    .venv/bin/python bench/run.py            # or: make bench
    .venv/bin/python bench/run.py --help

Compares, one server at a time, with the same load generator, connection count and durations:

* `POST /api/v1/plan-requests/` of our site app (PostgreSQL, the lead plus its outbox job) with a
  bare Starlette + asyncpg endpoint doing the same INSERT into the same PostgreSQL server
  (`bench_bare.plan_requests`, a plain table with the columns of ours);
* `GET /api/v1/health` of our site app with a bare FastAPI app returning a hello JSON.

Prints requests per second, the ratio ours / bare against its target, and p50/p99 latencies, and
writes everything as JSON into bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]

from baselines import BARE_SCHEMA, BARE_TABLE, CREATE_BARE_TABLE
from load import LoadResult, Request, have_wrk, run_load
from machine import git_state, package_versions
from servers import HOST, Server, clean_env, free_port

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"

# The contract's example lead: e-mail and phone are validated and normalised by ours.
LEAD = {
    "request_type": "demo_request",
    "contact_email": "client@company.com",
    "contact_phone": "+7 999 123 45 67",
    "message": "Интересует интеграция в CRM",
}
POST_HEADERS = {"Content-Type": "application/json", "User-Agent": "parmenid-bench/1.0"}
OUR_TABLES = "public.plan_requests, public.jobs"
# Share of all CPUs busy while nothing of ours runs, above which a measurement is "disturbed".
QUIET_THRESHOLD = 0.15


@dataclass(frozen=True)
class Comparison:
    key: str
    title: str
    target: float
    ours: Request
    bare: Request
    writes: bool


@dataclass
class Measurement:
    """One side of one comparison in one round."""

    comparison: str
    side: str
    result: LoadResult
    warmup_requests: int
    machine_busy: float
    database: dict[str, int] = field(default_factory=dict)

    @property
    def disturbed(self) -> bool:
        return self.machine_busy > QUIET_THRESHOLD

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "side": self.side,
            "warmup_requests": self.warmup_requests,
            "machine_busy_outside_run": round(self.machine_busy, 3),
            "disturbed": self.disturbed,
            "database": self.database,
            **self.result.as_dict(),
        }


@dataclass(frozen=True)
class Settings:
    duration: float
    warmup: float
    connections: int
    rounds: int
    generator: str
    server_cpu: int | None
    load_cpu: int | None
    database_url: str
    with_info: bool
    bare_loop: str
    quiet_wait: float


# --- PostgreSQL housekeeping ---------------------------------------------------------------------


def _sql(database_url: str, *statements: str) -> list[list[asyncpg.Record]]:
    async def run() -> list[list[asyncpg.Record]]:
        connection = await asyncpg.connect(database_url)
        try:
            return [await connection.fetch(statement) for statement in statements]
        finally:
            await connection.close()

    return asyncio.run(run())


def prepare_bare_table(database_url: str) -> None:
    _sql(
        database_url,
        f"DROP SCHEMA IF EXISTS {BARE_SCHEMA} CASCADE",
        f"CREATE SCHEMA {BARE_SCHEMA}",
        CREATE_BARE_TABLE,
    )


def drop_bare_schema(database_url: str) -> None:
    _sql(database_url, f"DROP SCHEMA IF EXISTS {BARE_SCHEMA} CASCADE")


def truncate_ours(database_url: str) -> None:
    """Empty our tables, if they exist (ours creates them when it starts)."""
    _sql(
        database_url,
        "DO $$ BEGIN IF to_regclass('public.plan_requests') IS NOT NULL"
        f" AND to_regclass('public.jobs') IS NOT NULL THEN TRUNCATE {OUR_TABLES}; END IF; END $$",
    )


def reset_tables(database_url: str) -> None:
    """Same starting point for every write measurement: empty tables, a fresh checkpoint."""
    truncate_ours(database_url)
    _sql(database_url, f"TRUNCATE {BARE_TABLE}", "CHECKPOINT")


def database_counters(database_url: str) -> dict[str, int]:
    """Cumulative transaction and connection counters of the database (pg_stat_database)."""
    time.sleep(1.5)  # backends report their statistics within about a second of going idle
    (rows,) = _sql(
        database_url,
        "SELECT xact_commit, xact_rollback, sessions FROM pg_stat_database"
        " WHERE datname = current_database()",
    )
    return {key: int(value) for key, value in rows[0].items()}


def row_counts(database_url: str) -> dict[str, int]:
    (rows,) = _sql(
        database_url,
        "SELECT (SELECT count(*) FROM public.plan_requests) AS our_plan_requests,"
        " (SELECT count(*) FROM public.jobs) AS our_jobs,"
        " (SELECT count(*) FROM bench_bare.plan_requests) AS bare_plan_requests",
    )
    return {key: int(value) for key, value in rows[0].items()}


# --- the machine ---------------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, from /proc/stat (Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def machine_busy(interval: float = 1.0) -> float:
    """The share of all CPUs that were busy during `interval` seconds (0 when unknown)."""
    first = _cpu_times()
    time.sleep(interval)
    second = _cpu_times()
    if first is None or second is None or second[1] == first[1]:
        return 0.0
    return (second[0] - first[0]) / (second[1] - first[1])


def wait_for_quiet(max_wait: float, log: Callable[[str], None]) -> float:
    """Wait (up to `max_wait` s) until other programs leave the CPUs alone; the last reading.

    Called while our servers are idle, so what it sees is other work: another test run, a
    PostgreSQL checkpoint or autovacuum. On two cores any of it distorts a comparison.
    """
    deadline = time.monotonic() + max_wait
    busy = machine_busy()
    if busy > QUIET_THRESHOLD:
        log(
            f"    machine busy ({busy:.0%} CPU outside the benchmark); waiting up to {max_wait:g} s"
        )
    while busy > QUIET_THRESHOLD and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


# --- servers -------------------------------------------------------------------------------------


def our_server(settings: Settings, log_level: str, workdir: Path) -> Server:
    port = free_port()
    script = Path(sys.executable).with_name("parmenid")
    command = ([str(script)] if script.exists() else [sys.executable, "-m", "parmenid.cli"]) + [
        "serve",
        "site",
        "--no-worker",
    ]
    data_dir = workdir / f"data-{log_level.lower()}"
    data_dir.mkdir(exist_ok=True)
    env = clean_env(
        {
            "PARMENID_DATABASE_URL": settings.database_url,
            "PARMENID_RATE_LIMIT__ENABLED": "false",
            "PARMENID_LOG_LEVEL": log_level,
            "PARMENID_DATA_DIR": str(data_dir),
            "PARMENID_SITE__PORT": str(port),
            # So that every lead also writes its outbox job row (no worker runs to send it).
            "PARMENID_TELEGRAM__BOT_TOKEN": "123:bench",
            "PARMENID_TELEGRAM__ADMIN_CHAT_IDS": "1",
        }
    )
    return Server(
        name=f"ours ({log_level})",
        command=command,
        env=env,
        port=port,
        ready_path="/api/v1/health",
        log_path=workdir / f"ours-{log_level.lower()}.log",
        cwd=data_dir,  # away from any developer's .env in the repository
        cpu=settings.server_cpu,
    )


def bare_server(settings: Settings, app: str, ready_path: str, workdir: Path) -> Server:
    port = free_port()
    command = [
        sys.executable,
        str(BENCH_DIR / "baselines.py"),
        app,
        "--port",
        str(port),
        "--dsn",
        settings.database_url,
        "--loop",
        settings.bare_loop,
    ]
    return Server(
        name=f"bare {app}",
        command=command,
        env=clean_env({}),
        port=port,
        ready_path=ready_path,
        log_path=workdir / f"bare-{app}.log",
        cwd=workdir,
        cpu=settings.server_cpu,
    )


def comparisons(ours_port: int, insert_port: int, hello_port: int) -> list[Comparison]:
    body = json.dumps(LEAD, ensure_ascii=False).encode()
    return [
        Comparison(
            key="plan_requests",
            title="POST /api/v1/plan-requests/",
            target=0.6,
            ours=Request(
                f"http://{HOST}:{ours_port}/api/v1/plan-requests/", "POST", body, POST_HEADERS
            ),
            bare=Request(f"http://{HOST}:{insert_port}/plan-requests/", "POST", body, POST_HEADERS),
            writes=True,
        ),
        Comparison(
            key="health",
            title="GET /api/v1/health",
            target=0.9,
            ours=Request(f"http://{HOST}:{ours_port}/api/v1/health"),
            bare=Request(f"http://{HOST}:{hello_port}/hello"),
            writes=False,
        ),
    ]


# --- measuring -----------------------------------------------------------------------------------


def smoke_test(request: Request, expected: int) -> None:
    """One request before the load, so a broken endpoint fails loudly instead of measuring 4xx."""
    parts = urlsplit(request.url)
    connection = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80, timeout=10)
    try:
        connection.request(request.method, parts.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        connection.close()
    if response.status != expected:
        raise RuntimeError(
            f"{request.method} {request.url} answered {response.status}: {text[:300]}"
        )


def measure(
    settings: Settings,
    comparison: Comparison,
    side: str,
    request: Request,
    log: Callable[[str], None],
) -> Measurement:
    smoke_test(request, 201 if comparison.writes else 200)
    # Also before reads: it stops autovacuum of the rows a previous write run left behind.
    reset_tables(settings.database_url)
    busy_before = wait_for_quiet(settings.quiet_wait, log)
    warmup = run_load(
        request,
        duration=settings.warmup,
        connections=settings.connections,
        generator=settings.generator,
        cpu=settings.load_cpu,
    )
    before = database_counters(settings.database_url)
    result = run_load(
        request,
        duration=settings.duration,
        connections=settings.connections,
        generator=settings.generator,
        cpu=settings.load_cpu,
    )
    busy_after = machine_busy()  # our server is idle again: is someone else still busy?
    after = database_counters(settings.database_url)
    database = {f"{key}_delta": after[key] - before[key] for key in before}
    if comparison.writes:
        database.update(row_counts(settings.database_url))
    measurement = Measurement(
        comparison.key, side, result, warmup.requests, max(busy_before, busy_after), database
    )
    notes = f", {result.error_count} errors {result.errors}" if result.error_count else ""
    if measurement.disturbed:
        notes += f", DISTURBED (machine {measurement.machine_busy:.0%} busy outside the run)"
    log(
        f"  {comparison.title:30} {side:12} {result.rps:9.1f} rps"
        f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms{notes}"
    )
    return measurement


def run_round(
    settings: Settings, workdir: Path, round_number: int, log: Callable[[str], None]
) -> tuple[list[Measurement], dict[str, dict[str, str]]]:
    """Every server in turn: started, measured on its endpoints, stopped.

    Bare runs right after ours, so that slow drift of the machine hits both alike; ours at INFO
    comes last, as an extra.
    """
    log(f"round {round_number}/{settings.rounds}")
    ours = our_server(settings, "WARNING", workdir)
    insert = bare_server(settings, "insert", "/ready", workdir)
    hello = bare_server(settings, "hello", "/hello", workdir)
    plan, health = comparisons(ours.port, insert.port, hello.port)
    schedule: list[tuple[Server, str, list[tuple[Comparison, Request]]]] = [
        (ours, "ours", [(plan, plan.ours), (health, health.ours)]),
        (insert, "bare", [(plan, plan.bare)]),
        (hello, "bare", [(health, health.bare)]),
    ]
    if settings.with_info:
        ours_info = our_server(settings, "INFO", workdir)
        plan_info, health_info = comparisons(ours_info.port, insert.port, hello.port)
        schedule.append(
            (ours_info, "ours_info", [(plan_info, plan_info.ours), (health_info, health_info.ours)])
        )
    measurements: list[Measurement] = []
    runtimes: dict[str, dict[str, str]] = {}
    for server, side, jobs in schedule:
        with server:
            runtimes[server.name] = server.runtime_info()
            for comparison, request in jobs:
                measurements.append(measure(settings, comparison, side, request, log))
    return measurements, runtimes


# --- reporting -----------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _usable(measurements: list[Measurement]) -> list[Measurement]:
    """The undisturbed measurements, when there are any; else all of them."""
    return [m for m in measurements if not m.disturbed] or measurements


def summarize(measurements: list[Measurement], with_info: bool) -> list[dict[str, Any]]:
    """Medians over rounds, per comparison: ours (and ours at INFO) against bare.

    Measurements taken while other programs were busy are left out of the medians when an
    undisturbed one of the same side exists; a row is `disturbed` when it still relies on one.
    """
    rows: list[dict[str, Any]] = []
    for comparison in comparisons(0, 0, 0):
        picked = {
            side: [m for m in measurements if m.comparison == comparison.key and m.side == side]
            for side in ("ours", "ours_info", "bare")
        }
        bare_all = picked["bare"]
        bare = _usable(bare_all)
        bare_rps = _median([m.result.rps for m in bare])
        for side in ("ours", "ours_info") if with_info else ("ours",):
            ours_all = picked[side]
            ours = _usable(ours_all)
            ours_rps = _median([m.result.rps for m in ours])
            ratio = ours_rps / bare_rps if bare_rps else 0.0
            rows.append(
                {
                    "comparison": comparison.key,
                    "title": comparison.title,
                    "ours_side": side,
                    "ours_log_level": "INFO" if side == "ours_info" else "WARNING",
                    "ours_rps": round(ours_rps, 1),
                    "bare_rps": round(bare_rps, 1),
                    "ratio": round(ratio, 3),
                    "target": comparison.target,
                    "meets_target": ratio >= comparison.target,
                    "ours_p50_ms": round(_median([m.result.p50_ms for m in ours]), 2),
                    "ours_p99_ms": round(_median([m.result.p99_ms for m in ours]), 2),
                    "bare_p50_ms": round(_median([m.result.p50_ms for m in bare]), 2),
                    "bare_p99_ms": round(_median([m.result.p99_ms for m in bare]), 2),
                    "errors": sum(m.result.error_count for m in ours + bare),
                    "disturbed": any(m.disturbed for m in ours + bare),
                    "rounds_ours": len(ours),
                    "rounds_bare": len(bare),
                    "left_out_disturbed": len(ours_all) - len(ours) + len(bare_all) - len(bare),
                }
            )
    return rows


def per_request_database(measurements: list[Measurement]) -> dict[str, dict[str, float]]:
    """PostgreSQL work per POST (transactions, new connections), from pg_stat_database."""
    out: dict[str, dict[str, float]] = {}
    for side in ("ours", "ours_info", "bare"):
        posts = [m for m in measurements if m.comparison == "plan_requests" and m.side == side]
        requests = sum(m.result.requests for m in posts)
        if not requests:
            continue
        total = {
            key: sum(m.database.get(key, 0) for m in posts)
            for key in ("xact_commit_delta", "xact_rollback_delta", "sessions_delta")
        }
        out[side] = {
            "commits_per_request": round(total["xact_commit_delta"] / requests, 2),
            "rollbacks_per_request": round(total["xact_rollback_delta"] / requests, 2),
            "new_connections_per_request": round(total["sessions_delta"] / requests, 3),
        }
    return out


def render_table(rows: list[dict[str, Any]]) -> str:
    """ours / bare side by side; latencies as `ours / bare` in milliseconds."""
    header = (
        f"{'comparison':28} {'ours log':>8} {'ours rps':>9} {'bare rps':>9} {'ratio':>6}"
        f" {'target':>6}      {'p50 ms ours / bare':>19} {'p99 ms ours / bare':>19}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        verdict = "ok  " if row["meets_target"] else "MISS"
        lines.append(
            f"{row['title']:28} {row['ours_log_level']:>8} {row['ours_rps']:9.1f}"
            f" {row['bare_rps']:9.1f} {row['ratio']:5.2f}x {row['target']:>5.1f}x {verdict}"
            f" {row['ours_p50_ms']:9.2f} / {row['bare_p50_ms']:<7.2f}"
            f" {row['ours_p99_ms']:9.2f} / {row['bare_p99_ms']:<7.2f}"
            + (" (disturbed)" if row["disturbed"] else "")
        )
    return "\n".join(lines)


RUN_PACKAGES = (
    "parmenid",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "asyncpg",
    "sqlalchemy",
    "pydantic",
)


def wrk_version() -> str | None:
    if not have_wrk():
        return None
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    output = (completed.stdout or completed.stderr).strip()
    return output.splitlines()[0] if output else "wrk"


def ours_package_dir() -> Path | None:
    """Where the `parmenid` package that ours runs is imported from (same interpreter and env)."""
    completed = subprocess.run(
        [sys.executable, "-c", "import parmenid; print(parmenid.__file__)"],
        env=clean_env({}),
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(completed.stdout.strip()).resolve().parent if completed.returncode == 0 else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the site app against bare Starlette+asyncpg and bare FastAPI."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per side")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per side")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat everything; the table shows medians"
    )
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a plain postgresql:// URL (default: $BENCH_DATABASE_URL or the local `test` db)",
    )
    parser.add_argument(
        "--no-info", action="store_true", help="skip the extra run of ours at log level INFO"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and load to CPUs")
    parser.add_argument(
        "--bare-loop",
        default="auto",
        choices=["auto", "asyncio", "uvloop"],
        help="uvicorn loop of the bare apps (auto = uvloop, as uvicorn[standard] runs them)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each measurement, wait up to this many seconds for other CPU load to stop",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    generator = args.generator
    if generator == "auto":
        if have_wrk():
            generator = "wrk"
        else:
            log(
                "wrk is not installed (Debian: apt-get install wrk); falling back to the Python "
                "load generator in bench/load.py. It can run out of CPU before a fast server "
                "does, so compare its numbers only with other runs of itself."
            )
            generator = "python"
    elif generator == "wrk" and not have_wrk():
        log("error: --generator wrk, but wrk is not installed")
        return 2
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(cpus) >= 2
    settings = Settings(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        rounds=max(1, args.rounds),
        generator=generator,
        server_cpu=cpus[0] if pin else None,
        load_cpu=cpus[1] if pin else None,
        database_url=args.database_url,
        with_info=not args.no_info,
        bare_loop=args.bare_loop,
        quiet_wait=args.quiet_wait,
    )
    placement = (
        f"server on CPU {settings.server_cpu}, load generator on CPU {settings.load_cpu}"
        if pin
        else "no CPU pinning"
    )
    log(
        f"{generator}, {settings.connections} connections, {settings.warmup:g} s warm-up +"
        f" {settings.duration:g} s per side, {settings.rounds} round(s); {placement};"
        f" PostgreSQL at {settings.database_url}"
    )
    package = ours_package_dir()
    git = git_state()
    if package is not None and not package.is_relative_to(REPO_DIR / "src"):
        log(f"measuring ours from {package} (not this checkout's src/)")
        git["ours_package"] = str(package)
    elif git:
        dirty = " + uncommitted changes in src/" if git["src_dirty"] else ""
        log(f"measuring ours at commit {git['commit']}{dirty}")
    started = datetime.now(UTC)
    measurements: list[Measurement] = []
    runtimes: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="parmenid-bench-") as tmp:
        workdir = Path(tmp)
        try:
            prepare_bare_table(settings.database_url)
            for number in range(1, settings.rounds + 1):
                done, runtimes = run_round(settings, workdir, number, log)
                measurements += done
        finally:
            try:
                truncate_ours(settings.database_url)
                drop_bare_schema(settings.database_url)
            except (OSError, asyncpg.PostgresError) as exc:
                log(f"warning: could not clean up the database: {exc}")
    rows = summarize(measurements, settings.with_info)
    database = per_request_database(measurements)

    log("")
    log(render_table(rows))
    log("")
    for side, numbers in database.items():
        log(
            f"PostgreSQL per POST, {side:9}: {numbers['commits_per_request']:.2f} commits,"
            f" {numbers['rollbacks_per_request']:.2f} rollbacks,"
            f" {numbers['new_connections_per_request']:.3f} new connections"
        )
    for name, info in runtimes.items():
        log(f"{name:12} loop={info.get('loop')} http={info.get('http')}")
    if any(row["errors"] for row in rows):
        log("WARNING: some requests failed (see `errors` in the JSON); ratios are suspect.")
    if any(row["left_out_disturbed"] for row in rows):
        log("Medians leave out measurements taken while the machine was busy (see the JSON).")
    if any(row["disturbed"] for row in rows):
        log(
            "WARNING: other programs used the CPUs around some measurements (`disturbed` in the"
            " JSON); on a 2-core machine that skews the numbers. Re-run on a quiet machine."
        )

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "settings": {
            "generator": generator,
            "generator_version": wrk_version() if generator == "wrk" else "bench/load.py",
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "connections": settings.connections,
            "rounds": settings.rounds,
            "server_cpu": settings.server_cpu,
            "load_cpu": settings.load_cpu,
            "bare_loop": settings.bare_loop,
            "quiet_wait_s": settings.quiet_wait,
            "quiet_threshold": QUIET_THRESHOLD,
            "database_url": settings.database_url,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "git": git,
            "packages": package_versions(RUN_PACKAGES),
        },
        "servers": runtimes,
        "summary": rows,
        "database_per_post": database,
        "measurements": [m.as_dict() for m in measurements],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    log(f"\nresults: {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
