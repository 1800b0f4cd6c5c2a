"""The bare baselines we are compared with, each served as its own uvicorn process.

* `insert`: a bare Starlette app whose `POST /plan-requests/` parses the JSON body and does the
  same INSERT as ours (one row with the columns of our `plan_requests`) through an asyncpg pool,
  into `bench_bare.plan_requests` of the same PostgreSQL server, and answers 201 with the same
  fields as our contract's body. No validation, no ORM, no middleware, no outbox row.
* `hello`: a bare FastAPI app whose `GET /hello` returns `{"message": "Hello, world"}`.

Both are served with the uvicorn options `parmenid serve` uses (log_config=None, no access log,
no proxy headers; http and loop left at "auto", i.e. httptools and uvloop from uvicorn[standard]).

    python bench/baselines.py insert --port 9001 --dsn postgresql://postgres@127.0.0.1/test
    python bench/baselines.py hello --port 9002
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

BARE_SCHEMA = "bench_bare"
BARE_TABLE = f"{BARE_SCHEMA}.plan_requests"
POOL_MIN_SIZE = 10
POOL_MAX_SIZE = 30  # what our SQLAlchemy engine may open: pool_size=10 + max_overflow=20

# The columns of our `plan_requests` (migration 0001), with its primary key; nothing else.
CREATE_BARE_TABLE = f"""
CREATE TABLE {BARE_TABLE} (
    id uuid PRIMARY KEY,
    request_type varchar(30) NOT NULL,
    status varchar(20) NOT NULL,
    contact_email varchar(320),
    contact_phone varchar(32),
    contact_telegram varchar(64),
    message text,
    requested_plan varchar(20),
    client_ip varchar(64),
    user_agent varchar(400),
    language varchar(8),
    chat_session_id uuid,
    handled_by_id uuid,
    status_changed_at timestamptz,
    updated_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
)
"""

INSERT = (
    "INSERT INTO bench_bare.plan_requests (id, request_type, status, contact_email,"
    " contact_phone, contact_telegram, message, requested_plan, client_ip, user_agent, language,"
    " chat_session_id, handled_by_id, status_changed_at, updated_at, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
)


def insert_app(dsn: str) -> Starlette:
    """Bare Starlette + asyncpg: parse, INSERT, answer 201."""
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE)
        try:
            yield
        finally:
            await pool.close()

    async def create(request: Request) -> Response:
        assert pool is not None
        data: dict[str, Any] = json.loads(await request.body())
        now = datetime.now(UTC)
        row_id = uuid.uuid4()
        await pool.execute(
            INSERT,
            row_id,
            data["request_type"],
            "new",
            data.get("contact_email"),
            data.get("contact_phone"),
            data.get("contact_telegram"),
            data.get("message"),
            data.get("requested_plan"),
            request.client.host if request.client else None,
            (request.headers.get("user-agent") or "")[:400] or None,
            (request.headers.get("accept-language") or "ru")[:2],
            None,
            None,
            None,
            now,
            now,
        )
        return JSONResponse(
            {
                "id": str(row_id),
                "request_type": data["request_type"],
                "status": "new",
                "requested_plan": data.get("requested_plan"),
                "created_at": now.isoformat(),
            },
            status_code=201,
        )

    async def ready(_request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/plan-requests/", create, methods=["POST"]),
            Route("/ready", ready, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def hello_app() -> FastAPI:
    """Bare FastAPI: one route returning a hello JSON."""
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "Hello, world"}

    return app


def serve(app: Starlette, host: str, port: int, loop: str) -> None:
    """One uvicorn process, with the options `parmenid serve` passes (see parmenid/cli.py)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        loop=loop,
    )
    uvicorn.Server(config).run()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve one of the bare baseline apps")
    parser.add_argument("app", choices=["insert", "hello"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--loop", default="auto", help="uvicorn's --loop: auto (uvloop if installed) or asyncio"
    )
    args = parser.parse_args(argv)
    app = insert_app(args.dsn) if args.app == "insert" else hello_app()
    serve(app, args.host, args.port, args.loop)


if __name__ == "__main__":
    main()
