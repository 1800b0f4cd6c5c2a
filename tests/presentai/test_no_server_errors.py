"""Bad input never gets a 500: every PresentAI route, called by an owner with real ids, with
bodies and parameters of the wrong shape, answers a client error in the app's envelope.

Generated from the app's routes like the route matrix, so new routes are covered without
editing this file.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from parmenid.presentai.app import create_app
from parmenid.runtime import Runtime
from tests.presentai.test_route_matrix import INFRASTRUCTURE, _world
from tests.routes import api_routes

JUNK_BODIES: list[tuple[str, Any]] = [
    ("not json", b"{not json"),
    ("a list", []),
    ("a string", "x"),
    ("wrong types", {"organization_id": 5, "name": [], "title": {}, "format": 7, "url": 3}),
    ("bad values", {"organization_id": "zzz", "project_id": "-1", "slide_ids": ["x", None]}),
    ("huge text", {"name": "я" * 100_000, "title": "t" * 100_000}),
    ("nul", {"name": "a\u0000b", "title": "a\u0000b", "instruction": "a\u0000b"}),
]
JUNK_QUERY = "?limit=-5&cursor=%%%&organization_id=nope&q=a%00&from=yesterday&sort=nope"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}


def _url(path: str, values: dict[str, str]) -> str:
    for name in re.findall(r"{(\w+)}", path):
        path = path.replace(
            "{" + name + "}", values.get(name, "00000000-0000-0000-0000-000000000000")
        )
    return path


async def test_junk_never_gets_a_server_error(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from parmenid.identity.models import Role

    world = await _world(presentai_client, runtime)
    owner = world.users[Role.OWNER]
    failures: list[str] = []
    tried, statuses = 0, set()
    for route in api_routes(create_app()):
        if route.path in INFRASTRUCTURE or "{token}" in route.path:
            continue
        if route.path.startswith("/api/v1/auth/"):  # logout-all would sign the owner out
            continue
        url = _url(route.path, world.own)
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) == ("DELETE", "/api/v1/users/me"):
                continue  # erasure with junk is refused, but a wrong guess would end the run
            attempts: list[tuple[str, dict[str, Any]]] = [("junk query", {})]
            if method in ("POST", "PATCH", "PUT"):
                attempts += [
                    (label, {"content": body} if isinstance(body, bytes) else {"json": body})
                    for label, body in JUNK_BODIES
                ]
            for label, kwargs in attempts:
                target = url + (JUNK_QUERY if label == "junk query" else "")
                headers = {**owner}
                if "content" in kwargs:
                    headers["Content-Type"] = "application/json"
                response = await presentai_client.request(method, target, headers=headers, **kwargs)
                tried += 1
                statuses.add(response.status_code)
                if response.status_code >= 500 and response.status_code != 503:
                    failures.append(f"{method} {route.path} [{label}]: {response.status_code}")
                elif response.status_code >= 400 and response.headers.get(
                    "content-type", ""
                ).startswith("application/json"):
                    body = response.json()
                    if not isinstance(body.get("error"), str) or "message" not in body:
                        failures.append(f"{method} {route.path} [{label}]: envelope {body}")
    assert failures == []
    assert tried > 300 and statuses >= {400, 422}, (tried, statuses)  # it did call them
