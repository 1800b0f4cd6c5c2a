"""Every dependency and endpoint is `async`: FastAPI runs plain functions in its thread pool,
which costs a thread hand-off on every request (and showed up as the top cost in profiles)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from parmenid.presentai.app import create_app as create_presentai
from parmenid.site.app import create_app as create_site


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _walk(child)


@pytest.mark.parametrize("factory", [create_site, create_presentai], ids=["site", "presentai"])
def test_no_route_runs_code_in_the_thread_pool(factory: object) -> None:
    app = factory()  # type: ignore[operator]
    assert isinstance(app, FastAPI)
    sync: list[str] = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for dependant in _walk(route.dependant):
            call = dependant.call
            if call is None:
                continue
            target = getattr(call, "__call__", call) if not inspect.isfunction(call) else call
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.append(f"{route.path}: {getattr(call, '__qualname__', call)!r}")
    assert sync == []
