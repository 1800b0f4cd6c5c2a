"""PresentAI's API (`presentai-interfaces.md`)."""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Scope

from parmenid import __version__
from parmenid.config import get_settings
from parmenid.core.db import utcnow
from parmenid.core.idempotency import IdempotencyMiddleware, IdempotencyStore, Replay
from parmenid.health import probes_of
from parmenid.identity.schemas import FIELD_LABELS
from parmenid.presentai import (
    accounts,
    api_keys,
    audit_log,
    downloads,
    files,
    organizations,
    realtime,
    users,
)
from parmenid.presentai.authz import Public
from parmenid.presentai.brand_kits import endpoints as brand_kits
from parmenid.presentai.errors import render_presentai_error
from parmenid.presentai.exports import endpoints as exports
from parmenid.presentai.generation import endpoints as generation
from parmenid.presentai.oauth import endpoints as oauth
from parmenid.presentai.presentations import endpoints as presentations
from parmenid.presentai.presentations import source_endpoints as presentation_sources
from parmenid.presentai.projects import endpoints as projects
from parmenid.presentai.shares import routes as shares
from parmenid.presentai.slides import endpoints as slides
from parmenid.runtime import Runtime
from parmenid.webapp import build_app

API_PREFIX = "/api/v1"

health_router = APIRouter(tags=["Health"], dependencies=[Public])


@health_router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Each dependency with its state and latency; 503 when one that is required is down."""
    probes = await probes_of(request).results()
    ok = all(probe.ok for probe in probes)
    return JSONResponse(
        {
            "status": "healthy" if ok else "unhealthy",
            "version": __version__,
            "environment": request.app.state.runtime.settings.environment,
            "timestamp": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dependencies": {
                probe.name: {
                    "status": "up" if probe.ok else "down",
                    "latency_ms": probe.latency_ms,
                    **({"error": probe.detail} if probe.detail else {}),
                }
                for probe in probes
            },
        },
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


def _idempotency_store(scope: Scope) -> IdempotencyStore:
    runtime: Runtime = scope["app"].state.runtime
    return runtime.idempotency


async def _replay(request: Request, replay: Replay) -> Response:
    """The stored answer to an earlier request with the same Idempotency-Key."""
    response = Response(replay.body, status_code=replay.status)
    for name, value in replay.headers:
        response.headers.append(name, value)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def create_app(runtime: Runtime | None = None) -> FastAPI:
    settings = runtime.settings if runtime is not None else get_settings()
    app = build_app(
        title="PresentAI API",
        description=(
            "PresentAI: grounded presentations from your sources. Errors: "
            '`{"error": code, "message", "request_id"}`.'
        ),
        metrics_name="presentai",
        renderer=render_presentai_error,
        runtime=runtime,
        cors_origins=settings.presentai.cors_origins,
        field_labels=FIELD_LABELS,
        body_limit_exempt=re.compile(
            re.escape(API_PREFIX)
            + f"(?:{re.escape(files.UPLOAD_PATH)}|{presentation_sources.UPLOAD_PATH}"
            + f"|{brand_kits.UPLOAD_PATH})"
        ),
    )
    app.add_middleware(IdempotencyMiddleware, store=_idempotency_store)
    app.add_exception_handler(Replay, _replay)  # type: ignore[arg-type]
    app.include_router(health_router, prefix=API_PREFIX)
    app.include_router(accounts.router, prefix=API_PREFIX)
    app.include_router(organizations.router, prefix=API_PREFIX)
    app.include_router(organizations.invitations_router, prefix=API_PREFIX)
    app.include_router(users.router, prefix=API_PREFIX)
    app.include_router(api_keys.router, prefix=API_PREFIX)
    app.include_router(audit_log.router, prefix=API_PREFIX)
    app.include_router(downloads.router, prefix=API_PREFIX)
    app.include_router(files.router, prefix=API_PREFIX)
    app.include_router(projects.router, prefix=API_PREFIX)
    app.include_router(brand_kits.router, prefix=API_PREFIX)
    app.include_router(realtime.router)  # /ws, outside /api/v1 as the contract says
    app.include_router(presentations.router, prefix=API_PREFIX)
    app.include_router(presentation_sources.router, prefix=API_PREFIX)
    app.include_router(slides.router, prefix=API_PREFIX)
    app.include_router(generation.router, prefix=API_PREFIX)
    app.include_router(oauth.router, prefix=API_PREFIX)
    app.include_router(shares.api_router, prefix=API_PREFIX)
    app.include_router(shares.page_router)  # /share/{token}, outside /api/v1 as the contract says
    app.include_router(exports.router, prefix=API_PREFIX)
    return app
