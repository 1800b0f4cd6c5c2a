"""`parmenid worker` as its own process delivers what the web process committed.

With Redis configured, a commit wakes the worker at once (its poll interval is set to 30 s, so
only the wake-up can be this fast); on the embedded backend the worker finds the job by polling.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REDIS_URL
from tests.fakes.server import ServerThread
from tests.fakes.telegram import FakeTelegram


@pytest.fixture(scope="module")
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture
def settings_overrides(backend: str, telegram: tuple[FakeTelegram, str]) -> dict[str, Any]:
    fake, url = telegram
    values: dict[str, Any] = {
        "telegram": {"bot_token": fake.token, "admin_chat_ids": ["1001"], "api_base_url": url}
    }
    if backend == "postgres":
        values["redis_url"] = REDIS_URL
    return values


async def test_a_separate_worker_process_delivers_the_lead(
    site_client: httpx.AsyncClient,
    database_url: str,
    backend: str,
    telegram: tuple[FakeTelegram, str],
    tmp_path: Path,
) -> None:
    fake, url = telegram
    fake.sent.clear()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARMENID_")}
    env.update(
        {
            "PARMENID_DATA_DIR": str(tmp_path),
            "PARMENID_DATABASE_URL": database_url,
            "PARMENID_TELEGRAM__BOT_TOKEN": fake.token,
            "PARMENID_TELEGRAM__ADMIN_CHAT_IDS": "1001",
            "PARMENID_TELEGRAM__API_BASE_URL": url,
            "PARMENID_JOBS__POLL_INTERVAL_SECONDS": "30" if backend == "postgres" else "0.2",
        }
    )
    if backend == "postgres":
        env["PARMENID_REDIS_URL"] = str(REDIS_URL)
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "parmenid.cli", "worker"], env=env, stdout=log, stderr=log
        )
    try:
        await _wait_for(lambda: "worker started" in log_path.read_text(), "the worker to start")
        await asyncio.sleep(0.5)  # past its first (empty) poll, subscribed to wake-ups
        response = await site_client.post(
            "/api/v1/plan-requests/",
            json={"request_type": "demo_request", "contact_email": "client@company.com"},
        )
        assert response.status_code == 201
        started = time.monotonic()
        await _wait_for(lambda: len(fake.sent) == 1, "the Telegram message", timeout=10)
        assert time.monotonic() - started < 3  # with Redis: the wake-up, not the 30 s poll
        assert "client@company.com" in fake.sent[0].text
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=15)
    assert worker.returncode == 0, log_path.read_text()[-2000:]
    assert "Traceback" not in log_path.read_text()


async def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
