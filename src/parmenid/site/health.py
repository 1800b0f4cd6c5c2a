"""`GET /api/v1/health`: exactly the contract's body."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from parmenid import __version__
from parmenid.core.db import utcnow
from parmenid.health import probes_of

router = APIRouter(tags=["Health"])


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    version: str
    environment: str
    timestamp: datetime


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "the database is unreachable"}},
)
async def health(request: Request) -> JSONResponse:
    """`healthy` (200) while the database answers; `unhealthy` (503) otherwise."""
    ok = await probes_of(request).healthy()
    body = {
        "status": "healthy" if ok else "unhealthy",
        "version": __version__,
        "environment": request.app.state.runtime.settings.environment,
        "timestamp": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})
