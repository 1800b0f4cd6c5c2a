"""What both ASGI apps are built from: lifespan, per-request session, errors, middleware.

Each app supplies its own `ErrorRenderer` (envelope and vocabulary); everything else is shared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from parmenid import __version__
from parmenid.config import Settings, get_settings
from parmenid.core.db import pop_after_commit
from parmenid.core.errors import AppError, Text, ValidationFailed
from parmenid.core.observability import Metrics, RequestContextMiddleware
from parmenid.core.ratelimit import Limit, client_ip
from parmenid.core.web import RequestBodyGuard, problems_from_pydantic, validation_error
from parmenid.docs import add_offline_docs
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.web")

INTERNAL = Text(
    "Something went wrong on our side. Please try again later.",
    "На сервере произошла ошибка. Попробуйте позже.",
)
METHOD_NOT_ALLOWED = Text("This method is not allowed here.", "Этот метод здесь не поддерживается.")
UNSTORABLE = Text(
    "A value in the request cannot be stored (it is out of range or has invalid characters).",
    "Значение в запросе нельзя сохранить "
    "(вне допустимого диапазона или с недопустимыми символами).",
)
ROUTE_NOT_FOUND = Text("There is no such endpoint.", "Такого адреса нет.")


class ErrorRenderer(Protocol):
    def __call__(self, request: Request, error: AppError) -> JSONResponse: ...


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime_dependency(request: Request) -> Runtime:
    # async: FastAPI would run a plain function in its thread pool, on every request.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent (a 201 means stored).

    On an error the work is rolled back, unless a service marked it `commit_on_error` (a
    security fact, such as a revoked token family, that must outlive the error it causes).
    """
    runtime = runtime_of(request)
    async with runtime.db.sessions() as session:
        try:
            yield session
        except BaseException:
            if session.info.get("commit_on_error"):
                await session.commit()
                _run_after_commit(session)
            else:
                await session.rollback()
            raise
        else:
            await session.commit()
            _run_after_commit(session)


def _run_after_commit(session: AsyncSession) -> None:
    for callback in pop_after_commit(session):
        callback()


SessionDep = Annotated[AsyncSession, Depends(db_session, scope="function")]


def ip_of(request: Request) -> str:
    """The client's IP, computed once per request."""
    cached: str | None = getattr(request.state, "client_ip", None)
    if cached is None:
        cached = client_ip(request, runtime_of(request).trusted_proxies)
        request.state.client_ip = cached
    return cached


def rate_limit(limit: Limit, message: Text | None = None) -> Callable[..., Any]:
    """A dependency that counts the request against `limit` per client IP."""

    async def check(request: Request, response: Response) -> None:
        runtime = runtime_of(request)
        decision = await runtime.limiter.hit(limit, ip_of(request))
        if not decision.allowed:
            raise decision.refusal(message) if message else decision.refusal()
        response.headers.update(decision.headers())

    return check


@dataclass(frozen=True)
class QuotaTicket:
    """Permission to proceed under a quota; `spend` counts the request once it is accepted."""

    runtime: Runtime
    limit: Limit
    key: str

    async def spend(self, response: Response) -> None:
        decision = await self.runtime.limiter.hit(self.limit, self.key)
        response.headers.update(decision.headers())


def accepted_quota(limit: Limit, message: Text | None = None) -> Callable[..., Any]:
    """A dependency for limits on *accepted* requests (e.g. 5 leads an hour): it refuses when the
    quota is used up, and the endpoint spends the returned ticket after it has accepted."""

    async def check(request: Request) -> QuotaTicket:
        runtime = runtime_of(request)
        key = ip_of(request)
        refusal = await runtime.limiter.exhausted(limit, key)
        if refusal is not None:
            raise refusal.refusal(message) if message else refusal.refusal()
        return QuotaTicket(runtime, limit, key)

    return check


def build_app(
    *,
    title: str,
    description: str,
    metrics_name: str,
    renderer: ErrorRenderer,
    runtime: Runtime | None,
    cors_origins: Sequence[str],
    field_labels: Mapping[str, Text] | None = None,
    body_limit_exempt: re.Pattern[str] | None = None,
) -> FastAPI:
    """A FastAPI app with our lifespan, middleware and error handling.

    `body_limit_exempt` matches whole paths (file uploads) that the JSON body cap does not apply
    to; their endpoints enforce their own limit while streaming."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        settings: Settings = get_settings()
        owned = Runtime.build(settings)
        if settings.run_migrations_on_start:
            from parmenid.migrations.runner import upgrade

            await upgrade(settings.effective_database_url)
        app.state.runtime = owned
        try:
            yield
        finally:
            await owned.close()

    app = FastAPI(
        title=title,
        description=description,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    add_offline_docs(app, title)
    if runtime is not None:
        app.state.runtime = runtime
    metrics = Metrics(metrics_name)
    app.state.metrics = metrics

    async def app_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        response = renderer(request, exc)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = problems_from_pydantic(exc.errors(), field_labels)
        return await app_error(request, validation_error(problems))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = {404: ROUTE_NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(
            exc.status_code, Text(str(exc.detail), str(exc.detail))
        )
        error = AppError(message, headers=dict(exc.headers or {}))
        error.status = exc.status_code
        error.code = {404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "bad_request"
        )
        return await app_error(request, error)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, DataError | UnicodeEncodeError):  # input the database cannot store
            log.warning("database refused a value", exc_info=exc)
            return await app_error(request, ValidationFailed(UNSTORABLE))
        log.exception("unhandled error", exc_info=exc)
        return await app_error(request, AppError(INTERNAL))

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)

    settings_for_limits = runtime.settings if runtime is not None else get_settings()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(cors_origins),
        allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "X-Request-ID",
            "Idempotency-Key",
            "X-API-Key",
            "Accept-Language",
            "If-Match",
            "X-Share-Access",
        ],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "RateLimit",
            "RateLimit-Policy",
            "ETag",
            "Location",
            "Idempotent-Replayed",
        ],
        max_age=600,
    )
    app.add_middleware(
        RequestBodyGuard,
        max_bytes=settings_for_limits.max_body_bytes,
        respond=renderer,
        exempt_paths=body_limit_exempt,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Any:
        return metrics.render()

    return app
