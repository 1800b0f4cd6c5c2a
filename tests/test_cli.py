"""The `parmenid` command as an operator uses it: real processes, real sockets."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REDIS_URL
from tests.fakes.server import free_port

PARMENID = [sys.executable, "-m", "parmenid.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARMENID_")}
    env.update({"PARMENID_DATA_DIR": str(tmp_path), "PARMENID_LOG_JSON": "true", **extra})
    return env


def test_migrate_then_admin_create_makes_an_active_platform_admin(tmp_path: Path) -> None:
    env = _env(tmp_path, PARMENID_ADMIN_PASSWORD="AdminPass123")
    subprocess.run([*PARMENID, "migrate"], env=env, check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [*PARMENID, "admin", "create", "--email", "Boss@Example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "created platform administrator boss@example.com" in done.stdout
    row = (
        sqlite3.connect(tmp_path / "parmenid.db")
        .execute(
            "SELECT is_platform_admin, status, is_email_verified FROM users WHERE email = ?",
            ("boss@example.com",),
        )
        .fetchone()
    )
    assert row == (1, "active", 1)

    again = subprocess.run(
        [*PARMENID, "admin", "create", "--email", "boss@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0
    assert "is now a platform administrator" in again.stdout


def test_admin_create_refuses_a_weak_password_clearly(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PARMENID, "admin", "create", "--email", "a@example.com", "--password", "weak"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "password" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_serve_runs_both_apps_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    site_port, presentai_port = free_port(), free_port()
    extra = {"PARMENID_REDIS_URL": REDIS_URL} if backend == "postgres" and REDIS_URL else {}
    process = subprocess.Popen(
        [*PARMENID, "serve"],
        env=_env(
            tmp_path,
            PARMENID_DATABASE_URL=database_url,
            PARMENID_SITE__PORT=str(site_port),
            PARMENID_PRESENTAI__PORT=str(presentai_port),
            PARMENID_RATE_LIMIT__KEY_PREFIX=f"cli-test-{os.getpid()}",
            **extra,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        site = _wait_healthy(f"http://127.0.0.1:{site_port}/api/v1/health", process)
        presentai = _wait_healthy(f"http://127.0.0.1:{presentai_port}/api/v1/health", process)
        assert site["status"] == "healthy"
        assert presentai["dependencies"]["database"]["status"] == "up"  # type: ignore[index]
        if extra:
            assert presentai["dependencies"]["redis"]["status"] == "up"  # type: ignore[index]
        lead = httpx.post(
            f"http://127.0.0.1:{site_port}/api/v1/plan-requests/",
            json={"request_type": "demo_request", "contact_email": "client@company.com"},
        )
        assert lead.status_code == 201
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "Application shutdown complete" in stderr
    assert '"request_id": "req_' in stderr  # JSON access log with the request id


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy")


def test_demo_seed_makes_a_bot_that_answers_from_its_knowledge(tmp_path: Path) -> None:
    """`parmenid demo seed` twice: one organization, one bot, knowledge indexed; it answers."""
    env = _env(tmp_path)
    first = subprocess.run(
        [*PARMENID, "demo", "seed"], env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "created; knowledge indexed: True" in first.stdout
    again = subprocess.run(
        [*PARMENID, "demo", "seed"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "already there; knowledge indexed: True" in again.stdout
    assert first.stdout.split()[3] == again.stdout.split()[3]  # the same avatar id
    asked = subprocess.run(
        [*PARMENID, "ask", "Сколько стоит тариф Pro?", "--org", "parmenid-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "2900 рублей" in asked.stdout
