"""Benchmark the per-request cost of PresentAI authorization: a JWT and an API key.

    .venv/bin/python bench/auth.py                       # SQLite in a temporary folder
    .venv/bin/python bench/auth.py --iterations 50000    # more measured calls per variant
    .venv/bin/python bench/auth.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/auth.py --help

Builds a `Runtime` on a freshly migrated database (SQLite in a temporary folder, or a scratch
PostgreSQL database created next to the one `--database-url` names and dropped at the end), and
the real PresentAI app on it with `create_app(runtime)`. Through that app it registers a user,
signs in, creates an organization and an API key with the `organizations:read` scope. Then it
mounts three tiny GET routes on the same app instance, each answering the same small JSON:

* `/bench-auth/none`: no dependency at all (the unauthenticated baseline);
* `/bench-auth/session`: only the per-request database session (`SessionDep`), a reference that
  shows how much of the cost is the session's lifecycle rather than authentication;
* `/bench-auth/caller`: `CallerDep` (`current_caller`), called with `Authorization: Bearer <jwt>`
  or with `X-API-Key`.

Every call goes through the whole app (its middleware included) as a raw ASGI call made here
(scope, receive and send built by hand, no HTTP client), one at a time, on uvloop when it is
installed. The variants are interleaved in rounds, rotating their order, so drift affects all of
them alike; each call is timed with `time.perf_counter_ns`. The added cost of a variant is its
time per request minus the unauthenticated baseline's, against the target of 0.3 ms.

Prints a table and writes the numbers, every sample and the machine's details as JSON to
`bench/results/auth-<UTC time>.json`. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from starlette.types import Message

from machine import git_state, package_versions
from parmenid.config import Settings, normalize_database_url
from parmenid.core.db import create_engine
from parmenid.migrations.runner import upgrade_sync
from parmenid.presentai.app import create_app
from parmenid.presentai.authz import CallerDep
from parmenid.runtime import Runtime
from parmenid.webapp import SessionDep

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
API = "/api/v1"
TARGET_US = 300.0  # added per request, from the issue
# Share of all CPUs busy outside this process, above which a measurement is "disturbed".
QUIET_THRESHOLD = 0.15
JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"
EMAIL = "bench-owner@example.com"
PASSWORD = "SecurePass123!"
CLIENT = ("127.0.0.1", 50001)
BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"testserver"),
    (b"user-agent", b"parmenid-bench/1.0"),
    (b"accept", b"application/json"),
]
AUTH_PACKAGES = (
    "parmenid",
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "pyjwt",
    "uvloop",
)

T = TypeVar("T")


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_us(ns: Sequence[int]) -> dict[str, float]:
    us = [n / 1000 for n in ns]
    return {
        "count": len(us),
        "mean_us": round(statistics.fmean(us), 2),
        "p50_us": round(percentile(us, 50), 2),
        "p90_us": round(percentile(us, 90), 2),
        "p99_us": round(percentile(us, 99), 2),
        "min_us": round(min(us), 2),
        "max_us": round(max(us), 2),
    }


# --- the database and the app --------------------------------------------------------------------


@contextmanager
def scratch_database(database_url: str | None, workdir: Path) -> Iterator[str]:
    """A freshly migrated database: SQLite in `workdir`, or a PostgreSQL database of its own on
    the server `database_url` names (created here, dropped at the end)."""
    if not database_url:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        upgrade_sync(url)
        yield url
        return
    admin_url = normalize_database_url(database_url)
    name = f"parmenid_bench_auth_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        engine = create_engine(admin_url)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade_sync(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def bench_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings from here only: no `.env`, and `PARMENID_*` variables are removed beforehand."""
    return Settings(
        _env_file=None,
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        log_json=False,
        run_migrations_on_start=False,
        auth={"jwt_secret": JWT_SECRET},
        rate_limit={"storage_url": "memory://", "key_prefix": f"parmenid-bench-{os.getpid()}"},
        # Long enough for any run; the lifetime does not change the cost of checking a token.
        presentai={"access_token_ttl_seconds": 6 * 3600},
    )


def mount_probe_routes(app: FastAPI) -> None:
    """The three routes measured, on the app instance under test."""

    @app.get("/bench-auth/none", include_in_schema=False)
    async def unauthenticated() -> JSONResponse:
        return JSONResponse({"caller": "none"})

    @app.get("/bench-auth/session", include_in_schema=False)
    async def session_only(session: SessionDep) -> JSONResponse:
        return JSONResponse({"caller": "none"})

    @app.get("/bench-auth/caller", include_in_schema=False)
    async def authenticated(caller: CallerDep) -> JSONResponse:
        return JSONResponse({"caller": "user" if caller.user is not None else "key"})


# --- the raw ASGI call ---------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    label: str
    path: str
    headers: list[tuple[bytes, bytes]]
    expected: bytes
    is_target: bool
    samples_ns: list[int] = field(default_factory=list)
    statements: int = 0  # SQL statements during the measured calls


def scope_of(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "client": CLIENT,
        "server": ("testserver", 80),
        "state": {},
    }


class Exchange:
    """receive/send of one request without a body; keeps the status and the body."""

    __slots__ = ("body", "received", "status")

    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self.received = False

    async def receive(self) -> Message:
        if not self.received:
            self.received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # as a server does: no disconnect while the request runs
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def timed_call(app: FastAPI, variant: Variant) -> int:
    """One request through the whole app; its duration in nanoseconds."""
    scope = scope_of(variant.path, variant.headers)
    exchange = Exchange()
    started = time.perf_counter_ns()
    await app(scope, exchange.receive, exchange.send)
    elapsed = time.perf_counter_ns() - started
    if exchange.status != 200 or exchange.body != variant.expected:
        raise RuntimeError(
            f"{variant.name}: {exchange.status} {exchange.body[:300]!r} "
            f"(expected 200 {variant.expected!r})"
        )
    return elapsed


# --- setting up the caller -----------------------------------------------------------------------


async def credentials(app: FastAPI) -> tuple[str, str]:
    """Through the real app: register, sign in, create an organization and an API key with
    `organizations:read`. The access token and the key."""
    transport = httpx.ASGITransport(app=app, client=CLIENT)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

        async def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            reply = await client.post(f"{API}{path}", json=body, headers=headers)
            if reply.status_code not in (200, 201):
                raise RuntimeError(f"POST {path}: {reply.status_code} {reply.text}")
            return reply.json()

        await post("/auth/register", {"email": EMAIL, "password": PASSWORD})
        token: str = (await post("/auth/login", {"email": EMAIL, "password": PASSWORD}))[
            "access_token"
        ]
        organization = await post("/organizations", {"name": "Bench"}, token)
        key = await post(
            "/api-keys",
            {
                "organization_id": organization["id"],
                "name": "bench",
                "scopes": ["organizations:read"],
            },
            token,
        )
        # Both credentials work on a real endpoint of the API as well.
        for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": key["key"]}):
            reply = await client.get(f"{API}/organizations/{organization['id']}", headers=headers)
            if reply.status_code != 200:
                raise RuntimeError(f"GET organization: {reply.status_code} {reply.text}")
        secret: str = key["key"]
        return token, secret


def variants_for(token: str, key: str) -> list[Variant]:
    return [
        Variant(
            "unauthenticated",
            "unauthenticated (baseline)",
            "/bench-auth/none",
            BASE_HEADERS,
            b'{"caller":"none"}',
            False,
        ),
        Variant(
            "session",
            "session only (reference)",
            "/bench-auth/session",
            BASE_HEADERS,
            b'{"caller":"none"}',
            False,
        ),
        Variant(
            "jwt",
            "JWT bearer",
            "/bench-auth/caller",
            [*BASE_HEADERS, (b"authorization", f"Bearer {token}".encode())],
            b'{"caller":"user"}',
            True,
        ),
        Variant(
            "api_key",
            "API key (cached)",
            "/bench-auth/caller",
            [*BASE_HEADERS, (b"x-api-key", key.encode())],
            b'{"caller":"key"}',
            True,
        ),
    ]


# --- a quiet machine -----------------------------------------------------------------------------


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs, from /proc/stat (Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


async def machine_busy(interval: float = 1.0) -> float:
    """The share of all CPUs busy during `interval` seconds (0 when unknown)."""
    first = cpu_jiffies()
    await asyncio.sleep(interval)
    second = cpu_jiffies()
    if first is None or second is None or second[1] == first[1]:
        return 0.0
    return (second[0] - first[0]) / (second[1] - first[1])


async def wait_for_quiet(max_wait: float) -> float:
    """Wait (up to `max_wait` s) until other programs leave the CPUs alone; the last reading."""
    deadline = time.monotonic() + max_wait
    busy = await machine_busy()
    if busy > QUIET_THRESHOLD:
        print(f"machine busy ({busy:.0%} CPU); waiting up to {max_wait:g} s", flush=True)
    while busy > QUIET_THRESHOLD and time.monotonic() < deadline:
        busy = await machine_busy()
    return busy


def process_ticks(pid: int) -> int:
    """CPU time (user + system, in clock ticks) a process has used; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the line


async def database_backends(runtime: Runtime) -> set[int]:
    """The PostgreSQL server processes serving this process's connections (none for SQLite)."""
    if runtime.db.is_sqlite:
        return set()
    async with runtime.db.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        )
        return {int(row[0]) for row in rows}


class OthersMeter:
    """The share of all CPUs that other programs used between start and stop. This process's
    own threads (aiosqlite's included) and the PostgreSQL server processes of its connections
    (the scratch database is ours alone) do not count: they are part of what is measured."""

    def __init__(self, backends: set[int]) -> None:
        self.jiffies = cpu_jiffies()
        self.own = time.process_time()
        self.backends = {pid: process_ticks(pid) for pid in backends}

    def stop(self, backends: set[int]) -> float | None:
        jiffies, own = cpu_jiffies(), time.process_time()
        if self.jiffies is None or jiffies is None or jiffies[1] == self.jiffies[1]:
            return None
        ours = (own - self.own) * os.sysconf("SC_CLK_TCK")
        ours += sum(process_ticks(pid) - self.backends.get(pid, 0) for pid in backends)
        busy = jiffies[0] - self.jiffies[0] - ours
        return max(0.0, busy / (jiffies[1] - self.jiffies[1]))


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Measured:
    backend: str
    loop: str
    variants: list[Variant]
    wall_s: float
    busy_before: float  # share of all CPUs busy just before measuring (nothing of ours running)
    others_during: float | None  # share of all CPUs busy outside this process while measuring
    profile: str | None = None

    @property
    def disturbed(self) -> bool:
        return self.others_during is not None and self.others_during > QUIET_THRESHOLD


class StatementCounter:
    """Counts the SQL statements the engine sends (attributed to the call that is running)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


async def measure(
    database_url: str,
    data_dir: Path,
    iterations: int,
    warmup: int,
    quiet_wait: float,
    profile: str | None,
) -> Measured:
    runtime = Runtime.build(bench_settings(database_url, data_dir))
    counter = StatementCounter()
    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", counter)
    try:
        app = create_app(runtime)
        mount_probe_routes(app)
        token, key = await credentials(app)
        variants = variants_for(token, key)

        busy_before = await wait_for_quiet(quiet_wait)
        meter = OthersMeter(await database_backends(runtime))
        started = time.perf_counter()
        for round_ in range(warmup + iterations):
            shift = round_ % len(variants)  # rotate the order: no variant always goes first
            for variant in variants[shift:] + variants[:shift]:
                before = counter.count
                elapsed = await timed_call(app, variant)
                if round_ >= warmup:
                    variant.samples_ns.append(elapsed)
                    variant.statements += counter.count - before
        wall_s = time.perf_counter() - started
        others = meter.stop(await database_backends(runtime))

        profiled = None
        if profile is not None:
            profiled = await profile_variant(app, next(v for v in variants if v.name == profile))
        backend = runtime.db.engine.dialect.name + "+" + runtime.db.engine.dialect.driver
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        return Measured(backend, loop, variants, wall_s, busy_before, others, profiled)
    finally:
        await runtime.close()


async def profile_variant(app: FastAPI, variant: Variant, calls: int = 5000) -> str:
    """cProfile over `calls` calls of one variant: the functions by own and cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await timed_call(app, variant)
    profiler.disable()
    lines: list[str] = []
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(25)
        lines.append(f"--- {variant.name}, {calls} calls, by {order} ---\n{out.getvalue()}")
    return "\n".join(lines)


# --- output --------------------------------------------------------------------------------------


def rows(measured: Measured) -> list[dict[str, Any]]:
    base = measured.variants[0]
    base_ns = base.samples_ns
    base_mean, base_p50 = statistics.fmean(base_ns) / 1000, percentile(base_ns, 50) / 1000
    found: list[dict[str, Any]] = []
    for variant in measured.variants:
        summary = summary_us(variant.samples_ns)
        row: dict[str, Any] = {
            "variant": variant.name,
            "label": variant.label,
            **summary,
            "db_statements": variant.statements,
            "db_statements_per_request": round(variant.statements / len(variant.samples_ns), 5),
        }
        if variant is not base:
            added_mean = statistics.fmean(variant.samples_ns) / 1000 - base_mean
            added_p50 = percentile(variant.samples_ns, 50) / 1000 - base_p50
            row["added_mean_us"] = round(added_mean, 2)
            row["added_p50_us"] = round(added_p50, 2)
            if variant.is_target:
                row["target_us"] = TARGET_US
                row["met"] = added_mean <= TARGET_US
        found.append(row)
    return found


def table(measured: Measured, table_rows: list[dict[str, Any]], warmup: int) -> str:
    count = len(measured.variants[0].samples_ns)
    lines = [
        f"PresentAI authorization, per request: in-process raw ASGI calls through the whole app, "
        f"{measured.backend}, {measured.loop} loop,",
        f"{count} measured calls per variant after {warmup} warm-up, interleaved "
        f"({measured.wall_s:.1f} s). Added = variant - unauthenticated.",
        "",
        f"{'variant':<27} {'mean µs':>8} {'p50 µs':>8} {'p99 µs':>8}"
        f" {'added mean / p50 µs':>21} {'target':>8}  result",
    ]
    for row in table_rows:
        added = (
            f"{row['added_mean_us']:+8.1f} / {row['added_p50_us']:+7.1f}"
            if "added_mean_us" in row
            else "—"
        )
        target = f"≤ {row['target_us']:.0f}" if "target_us" in row else "—"
        result = ("met" if row["met"] else "MISSED") if "met" in row else ""
        lines.append(
            f"{row['label']:<27} {row['mean_us']:8.1f} {row['p50_us']:8.1f} {row['p99_us']:8.1f}"
            f" {added:>21} {target:>8}  {result}"
        )
    by_name = {row["variant"]: row for row in table_rows}
    jwt, key, session = by_name["jwt"], by_name["api_key"], by_name["session"]
    others = "unknown" if measured.others_during is None else f"{measured.others_during:.0%}"
    if measured.backend.startswith("postgresql"):
        others += " (the PostgreSQL processes of our connections not counted)"
    notes = [
        "SQL statements per request (all measured calls): "
        + ", ".join(
            f"{row['variant']} {row['db_statements_per_request']:g} ({row['db_statements']})"
            for row in table_rows
        )
        + ".",
        "JWT: the first request with a token checks its signature and claims (PyJWT, HS256) and"
        " runs one primary-key query (the user joined with its session: revoked, token version,"
        " status); then the verified token and sign-in are trusted from memory (the principal"
        " cache, auth.principal_cache_seconds = 5 s) and the user is attached to the request's"
        f" session without a query; {jwt['db_statements']} statements in {count} requests.",
        "API key: after the first request a dict lookup plus SHA-256 of the secret; the entry is"
        " reloaded from the database once it is older than api_key_cache_seconds (10 s), and"
        f" last_used_at is written at most once a minute; {key['db_statements']} statements in"
        f" {count} requests.",
        "Session only: opening and committing the request's database session, without a query,"
        f" adds {session['added_mean_us']:+.1f} µs (mean); both credential paths pay it too.",
        "One request at a time, in-process: no network, no HTTP parsing, not a latency under load.",
        f"CPUs busy just before measuring: {measured.busy_before:.0%}; used by other programs"
        f" while measuring: {others}.",
    ]
    lines.append("")
    lines += [
        textwrap.fill(note, 100, initial_indent="* ", subsequent_indent="  ") for note in notes
    ]
    if measured.disturbed:
        lines.append(
            textwrap.fill(
                f"WARNING: other programs used more than {QUIET_THRESHOLD:.0%} of the CPUs while"
                " measuring: the figures are disturbed (so marked in the JSON). Run it again on a"
                " quiet machine.",
                100,
            )
        )
    return "\n".join(lines)


def run(coroutine: Coroutine[Any, Any, T], loop: str) -> T:
    """Run on uvloop when asked for (or `auto` and installed), else on the asyncio loop."""
    if loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(coroutine)
    return asyncio.run(coroutine)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--iterations", type=int, default=20_000, help="measured calls per variant (20000)"
    )
    parser.add_argument("--warmup", type=int, default=3_000, help="warm-up calls per variant")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to use (a scratch database is created on it and dropped); "
        "default: SQLite in a temporary folder",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait, at most, for the CPUs to be less than 15%% busy before measuring",
    )
    parser.add_argument("--loop", choices=["auto", "uvloop", "asyncio"], default="auto")
    parser.add_argument(
        "--profile",
        choices=["unauthenticated", "session", "jwt", "api_key"],
        default=None,
        help="after measuring, cProfile 5000 calls of this variant and print the top functions",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0:
        parser.error("--iterations must be positive and --warmup not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name in [n for n in os.environ if n.startswith("PARMENID_")]:
        del os.environ[name]  # the settings come from this script only
    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="parmenid-bench-auth-"))
    try:
        with scratch_database(args.database_url, workdir) as database_url:
            print(
                f"measuring: {args.warmup} warm-up + {args.iterations} calls per variant ...",
                flush=True,
            )
            measured = run(
                measure(
                    database_url,
                    workdir,
                    args.iterations,
                    args.warmup,
                    args.quiet_wait,
                    args.profile,
                ),
                args.loop,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    table_rows = rows(measured)
    print()
    print(table(measured, table_rows, args.warmup))
    if measured.profile:
        print()
        print(measured.profile)

    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    if args.database_url:
        settings["database_url"] = make_url(args.database_url).render_as_string(hide_password=True)
    document = {
        "started": started.isoformat(),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "settings": settings,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "packages": package_versions(AUTH_PACKAGES),
        "git": git_state(),
        "backend": measured.backend,
        "loop": measured.loop,
        "target_added_us": TARGET_US,
        "measured_wall_s": round(measured.wall_s, 2),
        "machine_busy_before": round(measured.busy_before, 3),
        "others_cpu_during": (
            None if measured.others_during is None else round(measured.others_during, 3)
        ),
        "disturbed": measured.disturbed,
        "summary": table_rows,
        "samples_us": {
            v.name: [round(n / 1000, 1) for n in v.samples_ns] for v in measured.variants
        },
        "profile": measured.profile,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / f"auth-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
