"""Lead alerts reach Telegram through the durable outbox, against a Bot API server on a socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from parmenid.core.db import utcnow
from parmenid.core.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from parmenid.runtime import Runtime
from parmenid.site.leads.models import PlanRequest
from tests.conftest import run_jobs
from tests.fakes.server import ServerThread, free_port
from tests.fakes.telegram import FakeTelegram

LEAD = {
    "request_type": "contact_sales",
    "contact_email": "client@company.com",
    "contact_telegram": "@username",
    "message": "Хотим обсудить <корпоративное> решение & интеграцию",
}


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    with ServerThread(fake.app()) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(autouse=True)
def _reset(telegram: FakeTelegram) -> None:
    telegram.mode = "ok"
    telegram.sent.clear()
    telegram.known_chats = {"1001", "1002"}


@pytest.fixture
def settings_overrides(telegram: FakeTelegram) -> dict[str, Any]:
    return {
        "telegram": {
            "bot_token": telegram.token,
            "admin_chat_ids": ["1001", "1002"],
            "api_base_url": telegram.url,  # type: ignore[attr-defined]
        }
    }


async def jobs_of(runtime: Runtime) -> list[Job]:
    async with runtime.db.session() as session:
        return list((await session.scalars(select(Job).order_by(Job.created_at))).all())


async def claim_all(runtime: Runtime, worker: str, *, lease_left: timedelta) -> None:
    """Mark every job as taken by `worker`, its lease ending `lease_left` from now."""
    async with runtime.db.session() as session:
        await session.execute(
            update(Job).values(
                status=RUNNING, attempts=1, locked_by=worker, lease_expires_at=utcnow() + lease_left
            )
        )


async def post_lead(client: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    return await client.post("/api/v1/plan-requests/", json={**LEAD, **changes})


async def test_every_admin_chat_gets_the_lead(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    response = await post_lead(site_client)
    assert response.status_code == 201
    await run_jobs(runtime)
    assert sorted(message.chat_id for message in telegram.sent) == ["1001", "1002"]
    text = telegram.sent[0].text
    assert telegram.sent[0].parse_mode == "HTML"
    assert "Связь с отделом продаж" in text
    assert "client@company.com" in text and "@username" in text
    assert "&lt;корпоративное&gt; решение &amp; интеграцию" in text  # escaped, accepted by the API
    assert response.json()["id"] in text
    assert {job.status for job in await jobs_of(runtime)} == {SUCCEEDED}


async def test_outage_neither_fails_nor_delays_the_lead_and_delivery_follows(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    telegram.mode = "down"
    started = time.perf_counter()
    response = await post_lead(site_client)
    elapsed = time.perf_counter() - started
    assert response.status_code == 201
    assert elapsed < 1.0  # the answer does not wait for Telegram

    await run_jobs(runtime)  # the first attempts fail against the outage
    jobs = await jobs_of(runtime)
    assert len(jobs) == 2
    assert all(job.status == QUEUED and job.attempts >= 1 for job in jobs)
    assert all("502" in (job.last_error or "") for job in jobs)
    assert telegram.sent == []
    async with runtime.db.session() as session:
        assert await session.get(PlanRequest, _uuid(response.json()["id"])) is not None

    telegram.mode = "ok"
    await _run_until_done(runtime)
    assert sorted(message.chat_id for message in telegram.sent) == ["1001", "1002"]
    assert {job.status for job in await jobs_of(runtime)} == {SUCCEEDED}


async def test_unreachable_api_is_retried(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    runtime.settings.telegram.api_base_url = f"http://127.0.0.1:{free_port()}"
    runtime.handlers.update(Runtime.build(runtime.settings).handlers)
    assert (await post_lead(site_client)).status_code == 201
    await run_jobs(runtime)
    jobs = await jobs_of(runtime)
    assert all(job.status == QUEUED and "Connect" in (job.last_error or "") for job in jobs)


async def test_rate_limit_waits_for_retry_after_without_spending_attempts(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    telegram.mode = "rate_limited"
    telegram.retry_after = 1
    assert (await post_lead(site_client)).status_code == 201
    before = utcnow()
    await run_jobs(runtime)
    for job in await jobs_of(runtime):
        assert job.status == QUEUED
        assert job.attempts == 0
        assert job.run_at >= before + timedelta(seconds=0.9)
    telegram.mode = "ok"
    await asyncio.sleep(1.05)
    await run_jobs(runtime)
    assert len(telegram.sent) == 2


async def test_a_refused_chat_fails_for_good_and_does_not_block_the_other(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    telegram.known_chats = {"1001"}
    assert (await post_lead(site_client)).status_code == 201
    await run_jobs(runtime)
    by_chat = {job.payload["chat_id"]: job for job in await jobs_of(runtime)}
    assert by_chat["1001"].status == SUCCEEDED
    assert by_chat["1002"].status == FAILED
    assert by_chat["1002"].attempts == 1
    assert "chat not found" in (by_chat["1002"].last_error or "")


async def test_a_job_left_running_by_a_dead_worker_is_taken_again(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    assert (await post_lead(site_client)).status_code == 201
    # A worker claimed the jobs and died: running, lease already expired.
    await claim_all(runtime, "dead-worker", lease_left=timedelta(seconds=-1))
    await run_jobs(runtime)
    assert len(telegram.sent) == 2
    assert {job.status for job in await jobs_of(runtime)} == {SUCCEEDED}


async def test_a_live_lease_is_not_stolen(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    assert (await post_lead(site_client)).status_code == 201
    await claim_all(runtime, "busy-worker", lease_left=timedelta(minutes=5))
    assert await run_jobs(runtime) == 0
    assert telegram.sent == []


async def test_the_running_worker_delivers_promptly_after_commit(
    site_client: httpx.AsyncClient, runtime: Runtime, telegram: FakeTelegram
) -> None:
    runtime.settings.jobs.poll_interval_seconds = 30  # only the commit wake-up can be fast
    worker = runtime.worker()
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        assert (await post_lead(site_client)).status_code == 201
        while len(telegram.sent) < 2 and time.perf_counter() - started < 5:
            await asyncio.sleep(0.01)
        assert len(telegram.sent) == 2
        assert time.perf_counter() - started < 2
    finally:
        worker.stop()
        await task


async def test_no_alerts_are_queued_without_telegram_settings(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.telegram.bot_token = None
    assert (await post_lead(site_client)).status_code == 201
    assert [job for job in await jobs_of(runtime) if job.name == "notify.telegram"] == []


async def _run_until_done(runtime: Runtime, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await run_jobs(runtime)
        if all(job.status != QUEUED for job in await jobs_of(runtime)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("jobs did not finish in time")


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)
