"""Every dependency and endpoint is `async`: FastAPI runs plain functions in its thread pool,
which costs a thread hand-off on every request (and showed up as the top cost in profiles)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from fastapi import FastAPI

from parmenid.presentai.app import create_app as create_presentai
from parmenid.site.app import create_app as create_site
from tests.routes import api_routes, walk


@pytest.mark.parametrize("factory", [create_site, create_presentai], ids=["site", "presentai"])
def test_no_route_runs_code_in_the_thread_pool(factory: Callable[[], FastAPI]) -> None:
    routes = api_routes(factory())
    assert any(route.path == "/api/v1/health" for route in routes)
    sync: list[str] = []
    for route in routes:
        for dependant in walk(route.dependant):
            call = dependant.call
            if call is None:
                continue
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.append(f"{route.path}: {getattr(call, '__qualname__', call)!r}")
    assert sync == []
