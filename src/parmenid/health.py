"""Dependency probes for the health endpoints, cached briefly so that probing is cheap."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from starlette.requests import Request

from parmenid.runtime import Runtime


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None


class HealthProbes:
    """Checks the database (and Redis when configured); answers are reused for `ttl` seconds."""

    def __init__(self, runtime: Runtime, ttl: float = 2.0) -> None:
        self.runtime = runtime
        self.ttl = ttl
        self._cached: tuple[float, list[Probe]] | None = None
        self._lock = asyncio.Lock()

    async def results(self) -> list[Probe]:
        cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        async with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            probes = [await self._database()]
            if self.runtime.settings.redis_url:
                probes.append(await self._redis())
            self._cached = (time.monotonic(), probes)
            return probes

    async def healthy(self) -> bool:
        return all(probe.ok for probe in await self.results())

    async def _database(self) -> Probe:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(2):
                async with self.runtime.db.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:
            return Probe("database", False, _ms(started), exc.__class__.__name__)
        return Probe("database", True, _ms(started))

    async def _redis(self) -> Probe:
        from redis.asyncio import Redis

        started = time.perf_counter()
        client = Redis.from_url(self.runtime.settings.redis_url or "")
        try:
            async with asyncio.timeout(2):
                await client.ping()
        except Exception as exc:
            return Probe("redis", False, _ms(started), exc.__class__.__name__)
        finally:
            await client.aclose()
        return Probe("redis", True, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def probes_of(request: Request) -> HealthProbes:
    """The app's probes, created on first use (the runtime may be built in the lifespan)."""
    state = request.app.state
    probes: HealthProbes | None = getattr(state, "health", None)
    if probes is None:
        probes = state.health = HealthProbes(state.runtime)
    return probes
