"""Shared fixtures.

Every test that touches storage runs on the embedded backend (SQLite file + in-memory rate
limits) and, when `PARMENID_TEST_DATABASE_URL` and `PARMENID_TEST_REDIS_URL` are set (as
`.ci/run` sets them), again on PostgreSQL + Redis. The backend shows in the test id:
`test_x[embedded]`, `test_x[postgres]`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from parmenid.config import Settings
from parmenid.core.db import Base, create_engine
from parmenid.migrations.runner import upgrade_sync
from parmenid.runtime import Runtime

PG_URL = os.environ.get("PARMENID_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("PARMENID_TEST_REDIS_URL")
BACKENDS = ["embedded"] + (["postgres"] if PG_URL and REDIS_URL else [])
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "parmenid.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> Iterator[str]:
    """A fresh database of its own for this test run (runs in parallel don't collide), migrated
    once and dropped at the end."""
    assert PG_URL is not None
    import asyncio
    import uuid

    from sqlalchemy.engine import make_url

    from parmenid.config import normalize_database_url

    admin_url = normalize_database_url(PG_URL)
    name = f"parmenid_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_migrated"))
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "parmenid.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


def make_settings(tmp_path: Path, database_url: str, backend: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path,
        "database_url": database_url,
        "log_json": False,
        "run_migrations_on_start": False,
        "auth": {"jwt_secret": JWT_SECRET},
        "rate_limit": {
            "storage_url": REDIS_URL if backend == "postgres" and REDIS_URL else "memory://",
            "key_prefix": f"parmenid-test-{os.getpid()}",
        },
        "jobs": {
            "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.2,
            "poll_interval_seconds": 0.05,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the settings of `runtime`."""
    return {}


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, backend: str, settings_overrides: dict[str, Any]
) -> Settings:
    return make_settings(tmp_path, database_url, backend, **settings_overrides)


@pytest.fixture
async def runtime(settings: Settings, backend: str) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(settings)
    shared_limits = backend == "postgres"  # Redis outlives the test; memory storage does not
    if shared_limits:
        await runtime.limiter.reset()
        await truncate_all(runtime)
    try:
        yield runtime
    finally:
        if shared_limits:
            await runtime.limiter.reset()
        await runtime.close()


async def truncate_all(runtime: Runtime) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with runtime.db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture
async def site_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the site app (in-process ASGI, client address 127.0.0.1)."""
    from parmenid.site.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def presentai_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the PresentAI app."""
    from parmenid.presentai.app import create_app

    transport = httpx.ASGITransport(app=create_app(runtime), client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def run_jobs(runtime: Runtime, *, rounds: int = 20) -> int:
    """Run due jobs until none is left (retries scheduled for later are not waited for)."""
    worker = runtime.worker()
    total = 0
    for _ in range(rounds):
        ran = await worker.run_once()
        total += ran
        if ran == 0:
            break
    return total


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the fixtures only, never from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("PARMENID_") and not name.startswith("PARMENID_TEST_"):
            monkeypatch.delenv(name, raising=False)
