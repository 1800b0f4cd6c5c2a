"""Durable background jobs: the row is the truth, the worker only claims and runs rows.

A job is inserted in the same transaction as the change that caused it (a transactional outbox),
so an accepted request can never lose its side effects, and a rollback drops the job with it.
Workers claim due jobs with `FOR UPDATE SKIP LOCKED` on PostgreSQL (several `parmenid worker`
processes share the table safely) and with a single conditional UPDATE on SQLite. A claim is a
lease: a worker that dies leaves a `running` row whose lease runs out, and the next worker takes
it again, so a job survives a restart. Failures are retried with jittered exponential backoff up
to `max_attempts`; handlers must therefore be idempotent or tolerate at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Index, String, Text, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from parmenid.core.db import Base, Database, after_commit, new_id, utcnow

log = logging.getLogger("parmenid.jobs")

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The person whose personal data the payload carries (erasing them deletes the job).
    subject_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(String(200), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class RetryLater(Exception):
    """Raised by a handler to be run again after `delay` seconds (e.g. a 429's retry_after)."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (bad configuration, rejected payload)."""


@dataclass(frozen=True)
class JobContext:
    job_id: uuid.UUID
    attempt: int
    db: Database


Handler = Callable[[dict[str, Any], JobContext], Awaitable[dict[str, Any] | None]]
_handlers: dict[str, Handler] = {}


def job_handler(name: str) -> Callable[[Handler], Handler]:
    """Register the handler that runs jobs called `name`."""

    def register(handler: Handler) -> Handler:
        _handlers[name] = handler
        return handler

    return register


def registered_handlers() -> dict[str, Handler]:
    return dict(_handlers)


class WakeupChannel(Protocol):
    """Tells worker processes that a job was committed, so they need not wait for their poll."""

    def notify(self) -> None: ...

    async def listen(self, on_wake: Callable[[], None]) -> None: ...

    async def close(self) -> None: ...


class RedisWakeup:
    """Wake-ups over Redis pub/sub. A lost message only delays a job until the next poll."""

    def __init__(self, url: str, channel: str = "parmenid:jobs") -> None:
        from redis.asyncio import Redis

        self.client = Redis.from_url(url)
        self.channel = channel
        self._pending: set[asyncio.Task[Any]] = set()

    def notify(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._publish())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self) -> None:
        try:
            await self.client.publish(self.channel, b"job")
        except Exception as exc:  # the poll still finds the job
            log.warning("job wake-up not published", extra={"error": repr(exc)})

    async def listen(self, on_wake: Callable[[], None]) -> None:
        delay = 1.0
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    delay = 1.0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            on_wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("job wake-up channel lost; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def close(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=2)
        await self.client.aclose()


_wakeup: asyncio.Event | None = None
_channel: WakeupChannel | None = None


def use_wakeup_channel(channel: WakeupChannel | None) -> None:
    """Announce committed jobs on `channel` too (for workers in other processes)."""
    global _channel
    _channel = channel


def _wake_workers() -> None:
    if _wakeup is not None:
        _wakeup.set()
    if _channel is not None:
        _channel.notify()


def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    subject_id: uuid.UUID | None = None,
) -> Job:
    """Add a job to the caller's transaction; workers are woken once it commits.

    `subject_id`: the user whose personal data `payload` holds, so erasing them removes it."""
    job = Job(name=name, payload=payload, run_at=run_at or utcnow(), subject_id=subject_id)
    if max_attempts is not None:
        job.max_attempts = max_attempts
    session.add(job)
    after_commit(session, _wake_workers)
    return job


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: a random delay in [base/2, min(cap, base*2^(n-1))]."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling)


class Worker:
    """Claims due jobs and runs their handlers, `concurrency` at a time."""

    def __init__(
        self,
        db: Database,
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        lease_seconds: float = 60.0,
        backoff_base: float = 5.0,
        backoff_max: float = 3600.0,
        handlers: dict[str, Handler] | None = None,
        wakeup_channel: WakeupChannel | None = None,
    ) -> None:
        self.db = db
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.handlers = handlers
        self.wakeup_channel = wakeup_channel
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stopping = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def _handler(self, name: str) -> Handler | None:
        return (self.handlers if self.handlers is not None else _handlers).get(name)

    async def run(self) -> None:
        """Run until `stop()`; jobs in progress are finished (or left to their lease) on exit."""
        global _wakeup
        _wakeup = asyncio.Event()
        wakeup = _wakeup
        log.info("worker started", extra={"worker": self.identity})
        listener = (
            asyncio.create_task(self.wakeup_channel.listen(wakeup.set))
            if self.wakeup_channel is not None
            else None
        )
        try:
            while not self._stopping.is_set():
                claimed = 0
                free = self.concurrency - len(self._running)
                if free > 0:
                    try:
                        jobs = await self.claim(free)
                    except Exception:
                        log.exception("claiming jobs failed; retrying")
                        jobs = []
                    claimed = len(jobs)
                    for job in jobs:
                        task = asyncio.create_task(self._execute(job))
                        self._running.add(task)
                        task.add_done_callback(self._finished)
                if claimed and claimed == free:
                    continue
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=self.poll_interval)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            if self._running:
                await asyncio.wait(self._running, timeout=10)
            log.info("worker stopped", extra={"worker": self.identity})

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if _wakeup is not None:
            _wakeup.set()

    def stop(self) -> None:
        self._stopping.set()
        if _wakeup is not None:
            _wakeup.set()

    async def claim(self, limit: int) -> list[Job]:
        """Take up to `limit` due jobs: queued ones whose time has come, and running ones whose
        worker's lease ran out (that worker died)."""
        now = utcnow()
        async with self.db.session() as session:
            due = (
                select(Job.id)
                .where(
                    or_(
                        (Job.status == QUEUED) & (Job.run_at <= now),
                        (Job.status == RUNNING) & (Job.lease_expires_at < now),
                    )
                )
                .order_by(Job.run_at)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            result = await session.scalars(
                update(Job)
                .where(Job.id.in_(ids))
                .where(or_(Job.status == QUEUED, Job.lease_expires_at < now))
                .values(
                    status=RUNNING,
                    attempts=Job.attempts + 1,
                    lease_expires_at=now + self.lease,
                    locked_by=self.identity,
                    updated_at=now,
                )
                .returning(Job),
                execution_options={"synchronize_session": False},
            )
            return list(result.all())

    async def run_once(self) -> int:
        """Claim and run every due job once, in this task (for tests and `parmenid jobs run`)."""
        jobs = await self.claim(self.concurrency)
        for job in jobs:
            await self._execute(job)
        return len(jobs)

    async def _execute(self, job: Job) -> None:
        handler = self._handler(job.name)
        context = JobContext(job.id, job.attempts, self.db)
        try:
            if handler is None:
                raise PermanentFailure(f"no handler registered for job {job.name!r}")
            renew = asyncio.create_task(self._keep_lease(job.id))
            try:
                result = await handler(job.payload, context)
            finally:
                renew.cancel()
        except RetryLater as exc:
            await self._reschedule(job, str(exc), exc.delay, count_attempt=False)
        except PermanentFailure as exc:
            await self._fail(job, str(exc))
        except Exception as exc:
            if job.attempts >= job.max_attempts:
                await self._fail(job, _describe(exc))
            else:
                delay = backoff_delay(job.attempts, self.backoff_base, self.backoff_max)
                await self._reschedule(job, _describe(exc), delay, count_attempt=True)
        else:
            await self._set(
                job.id,
                status=SUCCEEDED,
                result=result,
                finished_at=utcnow(),
                lease_expires_at=None,
                last_error=None,
            )
            log.info("job succeeded", extra={"job": job.name, "job_id": str(job.id)})

    async def _keep_lease(self, job_id: uuid.UUID) -> None:
        interval = max(1.0, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            await self._set(job_id, lease_expires_at=utcnow() + self.lease)

    async def _reschedule(self, job: Job, error: str, delay: float, *, count_attempt: bool) -> None:
        attempts = job.attempts if count_attempt else job.attempts - 1
        await self._set(
            job.id,
            status=QUEUED,
            attempts=attempts,
            run_at=utcnow() + timedelta(seconds=delay),
            lease_expires_at=None,
            last_error=error,
        )
        log.warning(
            "job will be retried",
            extra={"job": job.name, "job_id": str(job.id), "error": error, "delay_s": delay},
        )

    async def _fail(self, job: Job, error: str) -> None:
        await self._set(
            job.id, status=FAILED, last_error=error, finished_at=utcnow(), lease_expires_at=None
        )
        log.error("job failed", extra={"job": job.name, "job_id": str(job.id), "error": error})

    async def _set(self, job_id: uuid.UUID, **values: Any) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Job).where(Job.id == job_id).values(updated_at=utcnow(), **values)
            )


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:2000]
