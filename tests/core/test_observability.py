"""Metrics and access logs name the route template with its prefix, never the raw path."""

from __future__ import annotations

import logging

import httpx
import pytest


async def test_metrics_label_the_full_route_template(site_client: httpx.AsyncClient) -> None:
    await site_client.get("/api/v1/health")
    await site_client.get("/api/v1/admin/plan-requests/1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    await site_client.get("/no/such/page")
    text = (await site_client.get("/metrics")).text
    assert 'route="/api/v1/health",status="200"' in text
    assert 'route="/api/v1/admin/plan-requests/{request_id}",status="401"' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "1b4e28ba" not in text  # ids never become label values


async def test_access_log_has_request_id_route_and_status(
    site_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="parmenid.access"):
        response = await site_client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    record = next(r for r in caplog.records if r.name == "parmenid.access")
    assert response.headers["x-request-id"] == "abc-123"
    assert getattr(record, "route", None) == "/api/v1/health"
    assert getattr(record, "status", None) == 200
    assert getattr(record, "method", None) == "GET"
