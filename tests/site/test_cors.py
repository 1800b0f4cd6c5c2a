"""The spec's "CORS настройки": the site, www and the admin panel may call the API."""

from __future__ import annotations

import httpx
import pytest

from parmenid.runtime import Runtime
from tests.site.chat_support import make_avatar
from tests.site.support import HEALTH_URL, LEADS_URL, LOGIN_URL, Cases, from_ip

SPEC_ORIGINS = ["https://parmenid.tech", "https://www.parmenid.tech", "https://admin.parmenid.tech"]
FOREIGN_ORIGINS = [
    "https://evil.example",
    "http://parmenid.tech",
    "https://parmenid.tech.evil.example",
    "https://evilparmenid.tech",
    "https://sub.parmenid.tech",
    "null",
]
PARTNER = "https://partner.example"


async def preflight(
    client: httpx.AsyncClient, origin: str, url: str = LEADS_URL, headers: str = "content-type"
) -> httpx.Response:
    return await client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def allowed_headers(response: httpx.Response) -> set[str]:
    value = response.headers.get("access-control-allow-headers", "")
    return {item.strip().lower() for item in value.split(",") if item.strip()}


@pytest.mark.parametrize("origin", SPEC_ORIGINS)
async def test_preflight_from_the_spec_origins_is_allowed(
    site_client: httpx.AsyncClient, origin: str
) -> None:
    cases = Cases()
    for url in [LEADS_URL, LOGIN_URL, "/api/v1/auth/register"]:
        with cases.case(url):
            response = await preflight(site_client, origin, url)
            assert response.status_code in (200, 204), response.text
            assert response.headers.get("access-control-allow-origin") == origin
            methods = response.headers.get("access-control-allow-methods", "").upper()
            assert "POST" in methods or methods == "*", methods
            allowed = allowed_headers(response)
            assert "content-type" in allowed or "*" in allowed, allowed
            assert "origin" in response.headers.get("vary", "").lower(), response.headers
    cases.check()


async def test_admin_panel_may_send_a_bearer_token(site_client: httpx.AsyncClient) -> None:
    response = await preflight(
        site_client,
        "https://admin.parmenid.tech",
        "/api/v1/admin/plan-requests",
        headers="authorization, content-type",
    )
    assert response.status_code in (200, 204), response.text
    assert response.headers.get("access-control-allow-origin") == "https://admin.parmenid.tech"
    allowed = allowed_headers(response)
    assert "authorization" in allowed or "*" in allowed, allowed


async def test_preflight_from_other_origins_is_not_allowed(site_client: httpx.AsyncClient) -> None:
    cases = Cases()
    for origin in FOREIGN_ORIGINS:
        with cases.case(origin):
            response = await preflight(site_client, origin)
            assert response.status_code < 500, response.text
            assert "access-control-allow-origin" not in response.headers, response.headers
    cases.check()


@pytest.mark.parametrize("origin", SPEC_ORIGINS)
async def test_actual_request_from_the_site_gets_the_allow_origin_header(
    site_client: httpx.AsyncClient, origin: str
) -> None:
    body = {"request_type": "demo_request", "contact_email": "client@company.com"}
    response = await site_client.post(LEADS_URL, json=body, headers=from_ip(Origin=origin))
    assert response.status_code == 201, response.text
    assert response.headers.get("access-control-allow-origin") == origin


async def test_error_responses_carry_the_allow_origin_header_too(
    site_client: httpx.AsyncClient,
) -> None:
    """Otherwise the browser hides the 422 body and the form cannot show `error.message`."""
    origin = "https://parmenid.tech"
    response = await site_client.post(
        LEADS_URL, json={"request_type": "demo_request"}, headers=from_ip(Origin=origin)
    )
    assert response.status_code == 422, response.text
    assert response.headers.get("access-control-allow-origin") == origin


async def test_rate_limited_responses_carry_the_allow_origin_header_too(
    site_client: httpx.AsyncClient,
) -> None:
    origin = "https://www.parmenid.tech"
    body = {"request_type": "demo_request", "contact_email": "client@company.com"}
    headers = from_ip(Origin=origin)
    for _ in range(5):
        assert (await site_client.post(LEADS_URL, json=body, headers=headers)).status_code == 201
    response = await site_client.post(LEADS_URL, json=body, headers=headers)
    assert response.status_code == 429, response.text
    assert response.headers.get("access-control-allow-origin") == origin


async def test_actual_request_from_another_origin_has_no_allow_origin(
    site_client: httpx.AsyncClient,
) -> None:
    for origin in FOREIGN_ORIGINS[:2]:
        response = await site_client.get(HEALTH_URL, headers={"Origin": origin})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers, origin


class TestConfiguredOrigins:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"site": {"cors_origins": [PARTNER, "https://parmenid.tech"]}}

    async def test_configured_origin_is_allowed(self, site_client: httpx.AsyncClient) -> None:
        response = await preflight(site_client, PARTNER)
        assert response.status_code in (200, 204), response.text
        assert response.headers.get("access-control-allow-origin") == PARTNER
        kept = await preflight(site_client, "https://parmenid.tech")
        assert kept.headers.get("access-control-allow-origin") == "https://parmenid.tech"

    @pytest.mark.parametrize("origin", ["https://admin.parmenid.tech", "https://evil.example"])
    async def test_origins_left_out_are_refused(
        self, site_client: httpx.AsyncClient, origin: str
    ) -> None:
        response = await preflight(site_client, origin)
        assert "access-control-allow-origin" not in response.headers, response.headers


async def test_a_widget_on_any_site_may_call_the_chat_api(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """Chat widgets run on customers' sites: the chat API answers their preflight and reads;
    an avatar's own allow-list then decides (403, no data, for a site not on a set list)."""
    open_avatar = await make_avatar(runtime, knowledge=None)
    listed = await make_avatar(runtime, knowledge=None, allowed_origins=[PARTNER])
    sessions = f"/api/v1/chat/{open_avatar}/sessions"
    answered = await preflight(site_client, "https://shop.example", sessions)
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-origin"] == "https://shop.example"
    assert "content-type" in allowed_headers(answered)
    created = await site_client.post(sessions, headers={"Origin": "https://shop.example"})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == "https://shop.example"
    assert "origin" in created.headers["vary"].lower()
    refused = await site_client.get(
        f"/api/v1/chat/{listed}/info", headers={"Origin": "https://shop.example"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    allowed = await site_client.get(f"/api/v1/chat/{listed}/info", headers={"Origin": PARTNER})
    assert allowed.status_code == 200
    # The rest of the API keeps the spec's list.
    assert (
        "access-control-allow-origin"
        not in (await preflight(site_client, "https://shop.example")).headers
    )
