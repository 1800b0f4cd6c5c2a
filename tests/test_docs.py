"""The API docs pages work offline: every asset they load is served by the app itself."""

from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets(
    site_client: httpx.AsyncClient, presentai_client: httpx.AsyncClient, page: str
) -> None:
    for client in (site_client, presentai_client):
        html = await client.get(page)
        assert html.status_code == 200
        assert "text/html" in html.headers["content-type"]
        sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert sources, html.text[:500]
        assert all(source.startswith("/") for source in sources), sources
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
        assert "/openapi.json" in html.text
