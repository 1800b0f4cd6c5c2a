"""Every API route of an app with its resolved dependencies (router-level ones included).

FastAPI ≥ 0.16x keeps included routers as lazy entries in `app.routes`; `iter_route_contexts`
gives their effective routes. Older releases list `APIRoute`s directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant


@dataclass(frozen=True)
class ApiRoute:
    path: str
    methods: frozenset[str]
    dependant: Dependant


def api_routes(app: FastAPI) -> list[ApiRoute]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI
        candidates: Iterator[object] = iter(app.routes)
    else:
        candidates = iter(iter_route_contexts(app.routes))
    found: list[ApiRoute] = []
    for candidate in candidates:
        dependant = getattr(candidate, "dependant", None)
        path = getattr(candidate, "path", None)
        if isinstance(dependant, Dependant) and path:
            methods = frozenset(getattr(candidate, "methods", None) or ())
            found.append(ApiRoute(path, methods, dependant))
    return found


def walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from walk(child)
