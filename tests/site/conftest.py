"""Fixtures for the site contract tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from parmenid.runtime import Runtime


@pytest.fixture
async def site_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The shared `site_client`, except that an exception escaping the app comes back as the
    500 response a browser would get instead of being raised into the test.

    Contract tests assert on what a visitor sees; a raised app exception would also drag a deep
    middleware traceback into pytest's report (which has crashed pytest on Python 3.11.7).
    """
    from parmenid.site.app import create_app

    transport = httpx.ASGITransport(
        app=create_app(runtime), client=("127.0.0.1", 50000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
