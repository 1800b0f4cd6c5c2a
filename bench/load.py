"""Load generators: `wrk` when it is installed, else a small asyncio HTTP/1.1 client.

Both are closed-loop generators: a fixed number of keep-alive connections, each sending its next
request as soon as the previous response arrived, for a fixed duration. Both report completed
requests per second and latency percentiles, and both run as a separate process that can be pinned
to its own CPU (so the benchmark process itself stays idle while measuring).

This file is also the fallback generator's entry point:

    python bench/load.py --url http://127.0.0.1:8000/x --duration 10 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

RESULT_MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Request:
    """One HTTP request, sent over and over."""

    url: str
    method: str = "GET"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    generator: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def pin_to(cpu: int | None) -> Callable[[], None] | None:
    """A `preexec_fn` that pins the child to one CPU (what `taskset -c CPU` does)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


def run_load(
    request: Request,
    *,
    duration: float,
    connections: int,
    generator: str,
    cpu: int | None,
    timeout: float = 10.0,
) -> LoadResult:
    """Run `generator` ("wrk" or "python") against `request` for `duration` seconds."""
    if generator == "wrk":
        return _run_wrk(request, duration, connections, cpu, timeout)
    if generator == "python":
        return _run_python(request, duration, connections, cpu, timeout)
    raise ValueError(f"unknown load generator: {generator}")


# --- wrk -----------------------------------------------------------------------------------------


def _lua_string(value: str | bytes) -> str:
    """A Lua string literal for any bytes (decimal escapes, so nothing needs quoting)."""
    data = value.encode() if isinstance(value, str) else value
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def wrk_script(request: Request) -> str:
    """The Lua script: the request's method, body and headers, and a JSON summary at the end."""
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    if request.body:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    lines.append(
        f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{RESULT_MARKER}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
    .. '"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""
    )
    return "\n".join(lines)


def _run_wrk(
    request: Request, duration: float, connections: int, cpu: int | None, timeout: float
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(request))
    try:
        command = [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{max(1, round(duration))}s",
            "--timeout",
            f"{max(1, round(timeout))}s",
            "--script",
            script.name,
            request.url,
        ]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration + timeout + 30,
            preexec_fn=pin_to(cpu),
            check=False,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    summary = _marked_json(completed.stdout)
    if completed.returncode != 0 or summary is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    seconds = summary["duration_us"] / 1e6
    return LoadResult(
        generator="wrk",
        requests=int(summary["requests"]),
        duration_s=round(seconds, 3),
        rps=summary["requests"] / seconds if seconds else 0.0,
        p50_ms=summary["p50_us"] / 1000,
        p90_ms=summary["p90_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        errors={
            name: int(summary[name]) for name in ("connect", "read", "write", "status", "timeout")
        },
    )


def _marked_json(output: str) -> dict[str, float] | None:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            parsed: dict[str, float] = json.loads(line[len(RESULT_MARKER) :])
            return parsed
    return None


# --- the Python fallback -------------------------------------------------------------------------


def _run_python(
    request: Request, duration: float, connections: int, cpu: int | None, timeout: float
) -> LoadResult:
    """Run this file as a separate (pinned) process, like wrk."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--url",
        request.url,
        "--method",
        request.method,
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--timeout",
        str(timeout),
    ]
    for name, value in request.headers.items():
        command += ["--header", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as body_file:
        body_file.write(request.body)
    command += ["--body-file", body_file.name]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration + timeout + 30,
            preexec_fn=pin_to(cpu),
            check=False,
        )
    finally:
        Path(body_file.name).unlink(missing_ok=True)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            data = json.loads(line[len(RESULT_MARKER) :])
            return LoadResult(**data)
    raise RuntimeError(
        f"python load generator failed ({completed.returncode}): {completed.stderr.strip()}"
    )


def _raw_request(request: Request) -> tuple[str, int, bytes]:
    parts = urlsplit(request.url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"only plain http:// URLs are supported: {request.url}")
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = {"Host": f"{parts.hostname}:{port}", **request.headers}
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(request.body))
    head = f"{request.method} {target} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return parts.hostname, port, (head + "\r\n").encode("latin-1") + request.body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


async def _connection_loop(
    host: str,
    port: int,
    payload: bytes,
    deadline: float,
    request_timeout: float,
    latencies: list[float],
    errors: dict[str, int],
) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    try:
        while time.perf_counter() < deadline:
            if writer is None or reader is None:
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:
                    errors["connect"] += 1
                    await asyncio.sleep(0.01)
                    continue
            started = time.perf_counter()
            try:
                writer.write(payload)
                status, keep_alive = await asyncio.wait_for(_read_response(reader), request_timeout)
            except TimeoutError:
                errors["timeout"] += 1
                keep_alive = False
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors["read"] += 1
                keep_alive = False
            else:
                latencies.append(time.perf_counter() - started)
                if status >= 400:
                    errors["status"] += 1
            if not keep_alive:
                writer.close()
                writer = reader = None
    finally:
        if writer is not None:
            writer.close()


def _percentile(ordered: Sequence[float], percent: float) -> float:
    if not ordered:
        return 0.0
    rank = max(0, math.ceil(percent / 100 * len(ordered)) - 1)
    return ordered[rank]


async def python_load(
    request: Request, duration: float, connections: int, request_timeout: float
) -> LoadResult:
    host, port, payload = _raw_request(request)
    latencies: list[float] = []
    errors = dict.fromkeys(("connect", "read", "write", "status", "timeout"), 0)
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(
            _connection_loop(host, port, payload, deadline, request_timeout, latencies, errors)
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        generator="python",
        requests=len(latencies),
        duration_s=round(elapsed, 3),
        rps=len(latencies) / elapsed if elapsed else 0.0,
        p50_ms=_percentile(ordered, 50) * 1000,
        p90_ms=_percentile(ordered, 90) * 1000,
        p99_ms=_percentile(ordered, 99) * 1000,
        max_ms=(ordered[-1] if ordered else 0.0) * 1000,
        errors=errors,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A closed-loop HTTP/1.1 keep-alive load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    headers = dict(
        (name.strip(), value.strip())
        for name, _, value in (item.partition(":") for item in args.header)
    )
    body = args.body_file.read_bytes() if args.body_file else b""
    request = Request(args.url, args.method.upper(), body, headers)
    runner = asyncio.run
    try:
        import uvloop

        runner = uvloop.run  # the generator should be as cheap as it can be
    except ImportError:
        pass
    result = runner(python_load(request, args.duration, args.connections, args.timeout))
    print(RESULT_MARKER + json.dumps(result.as_dict()), flush=True)


if __name__ == "__main__":
    main()
