"""Section 5 of the site API spec (health), request ids, metrics and the OpenAPI documentation."""

from __future__ import annotations

import re

import httpx

from parmenid.runtime import Runtime
from tests.site.support import HEALTH_URL, ISO_UTC_Z, LEADS_URL, Cases, assert_error, from_ip

SPEC_PATHS = ["/api/v1/plan-requests/", "/api/v1/auth/register", "/api/v1/auth/login", HEALTH_URL]


async def test_health_has_exactly_the_spec_keys(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await site_client.get(HEALTH_URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "version", "environment", "timestamp"}, body
    assert body["status"] == "healthy"
    assert isinstance(body["version"], str)
    assert re.match(r"^\d+\.\d+\.\d+", body["version"]), body["version"]
    assert body["environment"] == runtime.settings.environment == "test"
    assert ISO_UTC_Z.match(body["timestamp"]), body["timestamp"]


async def test_health_needs_no_authorization(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get(HEALTH_URL, headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 200, response.text


async def test_health_is_not_rate_limited_like_forms(site_client: httpx.AsyncClient) -> None:
    for _ in range(30):
        response = await site_client.get(HEALTH_URL)
        assert response.status_code == 200, response.text


async def test_health_head_request(site_client: httpx.AsyncClient) -> None:
    response = await site_client.head(HEALTH_URL)
    assert response.status_code in (200, 405), response.status_code
    assert response.headers.get("x-request-id")


# --- request ids -----------------------------------------------------------------------------


async def test_every_response_has_a_request_id(site_client: httpx.AsyncClient) -> None:
    json_type = {"Content-Type": "application/json"}
    cases = Cases()
    for method, path, body in [
        ("GET", HEALTH_URL, None),
        ("POST", LEADS_URL, {"request_type": "demo_request", "contact_email": "a@company.com"}),
        ("POST", LEADS_URL, {"request_type": "demo_request"}),
        ("POST", LEADS_URL, b"{"),
        ("GET", "/api/v1/nope", None),
        ("DELETE", HEALTH_URL, None),
        ("GET", "/api/v1/admin/plan-requests", None),
        ("GET", "/metrics", None),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
    ]:
        with cases.case((method, path, body)):
            if isinstance(body, bytes):
                headers = from_ip(**json_type)
                response = await site_client.request(method, path, content=body, headers=headers)
            else:
                response = await site_client.request(method, path, json=body, headers=from_ip())
            request_id = response.headers.get("x-request-id")
            assert request_id, (response.status_code, response.headers)
            assert len(request_id) <= 128
    cases.check()


async def test_request_ids_are_unique(site_client: httpx.AsyncClient) -> None:
    ids = {(await site_client.get(HEALTH_URL)).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_error_body_carries_the_same_request_id(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get("/api/v1/nope")
    error = assert_error(response, 404, "NOT_FOUND")
    assert error["request_id"] == response.headers["x-request-id"]


async def test_sane_incoming_request_id_is_echoed(site_client: httpx.AsyncClient) -> None:
    for incoming in ["abc-123", "req_0123456789abcdef", "3f2b9c1e-5a4d-4c7b-9e2f-1a2b3c4d5e6f"]:
        response = await site_client.get(HEALTH_URL, headers={"X-Request-ID": incoming})
        assert response.headers.get("x-request-id") == incoming


async def test_incoming_request_id_is_echoed_in_error_bodies(
    site_client: httpx.AsyncClient,
) -> None:
    response = await site_client.get("/api/v1/nope", headers={"X-Request-ID": "trace-42"})
    assert response.headers.get("x-request-id") == "trace-42"
    assert assert_error(response, 404, "NOT_FOUND")["request_id"] == "trace-42"


async def test_insane_incoming_request_id_is_replaced(site_client: httpx.AsyncClient) -> None:
    cases = Cases()
    for incoming in ["x" * 1000, "a b c", "<script>alert(1)</script>", "id\twith\ttabs", "ключ"]:
        with cases.case(incoming):
            response = await site_client.get(
                HEALTH_URL, headers=[(b"X-Request-ID", incoming.encode("utf-8"))]
            )
            assert response.status_code == 200
            request_id = response.headers.get("x-request-id")
            assert request_id
            assert request_id != incoming
            assert len(request_id) <= 128
    cases.check()


# --- metrics ---------------------------------------------------------------------------------


async def test_metrics_are_prometheus_text(site_client: httpx.AsyncClient) -> None:
    await site_client.get(HEALTH_URL)
    await site_client.get("/api/v1/nope")
    response = await site_client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    text = response.text
    assert "http_requests_total" in text
    assert re.search(r"^# TYPE \S*http_requests_total counter$", text, re.MULTILINE), text[:2000]
    samples = [
        line
        for line in text.splitlines()
        if line.startswith("http_requests_total{") or line.startswith("http_requests_total ")
    ]
    assert samples, text[:2000]
    for line in samples:
        assert float(line.rsplit(" ", 1)[1]) >= 0


# --- documentation ---------------------------------------------------------------------------


async def test_docs_page_is_html(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get("/docs")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


async def test_openapi_lists_the_spec_paths(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in SPEC_PATHS:
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/v1/plan-requests/"]
    assert "post" in paths["/api/v1/auth/register"]
    assert "post" in paths["/api/v1/auth/login"]
    assert "get" in paths[HEALTH_URL]


async def test_openapi_documents_the_lead_responses(site_client: httpx.AsyncClient) -> None:
    document = (await site_client.get("/openapi.json")).json()
    responses = document["paths"]["/api/v1/plan-requests/"]["post"]["responses"]
    assert "201" in responses, sorted(responses)
    assert "422" in responses, sorted(responses)
    assert "429" in responses, sorted(responses)
