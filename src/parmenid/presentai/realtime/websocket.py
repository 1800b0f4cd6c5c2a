"""`/ws`: PresentAI's progress WebSocket (`wss://api.present.ai/ws`).

Sign-in: a PresentAI access token, as `/ws?token={jwt}` or, when the query has none, as the first
message `{"type": "auth", "token": "..."}` within `ws_auth_timeout_seconds` (10 s). The answer
is `{"type": "authenticated", "user_id": ...}`. The token is checked when the connection opens;
the connection then lives on (access to each job is checked when subscribing, and re-checked
while the job runs).

Client messages: `subscribe {job_id, last_event_id?}` (again for the same job: restart from the
new `last_event_id`), `unsubscribe {job_id}`, `ping` (every 30 s).

Server frames: `authenticated`; `subscribed {job_id, kind, status, progress_pct?,
events_published?}`, then the job's events (the stored event plus `event_id`; pass the last one
back as `last_event_id` to resume without a gap); `unsubscribed {job_id}`; `pong`;
`resync_required {job_id, reason}` (reload the job over REST; events keep coming; `reason` is
`last_event_id_not_found`, `sequence_gap` or `events_unavailable`); `stream_interrupted
{job_id}` (the event store is unreachable; the server retries on its own); and
`error {error, message, job_id?}` with `error` one of `bad_request` (malformed message; the
connection stays open), `not_found` (no such job, or not in one of your organizations),
`validation_error` (too many subscriptions), `rate_limit_exceeded` (with `retry_after`),
`unauthorized` (before closing with 4401/4408) and `internal_error`.

Close codes sent by the server:
* 4401: missing, invalid or expired token, or a first message that is not `auth` (after an
  `unauthorized` error frame). Sign in again.
* 4408: no `auth` message within the auth timeout (after an `unauthorized` error frame), or no
  message at all for `ws_idle_timeout_seconds` (90 s): the client stopped pinging.
* 1009: a message over `ws_max_message_bytes` (4 KiB), after a `bad_request` error frame.
* 1013: the client left `ws_send_queue_frames` (256) frames unread for `ws_slow_client_seconds`
  (10 s); the server stops sending (the close frame reaches a client that reads again within
  2 s). Reconnect and resume with `last_event_id`.
* 1011: an unexpected server error. 1012 (sent by the server process): it is restarting.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from parmenid.core.errors import Unauthorized
from parmenid.identity.service import IdentityService
from parmenid.presentai.authz import Public
from parmenid.presentai.realtime.connection import (
    Closing,
    Connection,
    close_with,
    message_text,
    too_big,
)
from parmenid.presentai.realtime.protocol import (
    AuthMessage,
    CloseCode,
    ProtocolError,
    encode,
    error_frame,
    parse_message,
)
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.realtime")

# The handshake is open to anyone: the token is checked in-band (query or first message).
router = APIRouter(tags=["Realtime"], dependencies=[Public])

INVALID_TOKEN = "Missing, invalid or expired access token."
AUTH_FIRST = 'The first message must be {"type": "auth", "token": "..."} (or pass ?token=).'


class _RedactQueryToken(logging.Filter):
    """The server logs a WebSocket's path with its query string: keep `?token=` out of logs."""

    _token = re.compile(r"([?&]token=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "token=" in arg for arg in record.args
        ):
            record.args = tuple(
                self._token.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


_redact = _RedactQueryToken()
if not any(isinstance(f, _RedactQueryToken) for f in logging.getLogger("uvicorn.error").filters):
    logging.getLogger("uvicorn.error").addFilter(_redact)


@router.websocket("/ws")
async def progress_socket(websocket: WebSocket) -> None:
    """Progress events of generation jobs and source ingestion (see the module docstring)."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    try:
        user_id = await _sign_in(websocket, runtime)
    except WebSocketDisconnect:
        return
    if user_id is None:
        return
    try:
        await websocket.send_text(encode({"type": "authenticated", "user_id": str(user_id)}))
    except WebSocketDisconnect:
        return
    await Connection(websocket, runtime, user_id).run()


async def _sign_in(websocket: WebSocket, runtime: Runtime) -> uuid.UUID | None:
    """The signed-in user's id; None when refused (the connection is then closed)."""
    settings = runtime.settings.presentai
    token = websocket.query_params.get("token")
    if not token:
        try:
            message = await asyncio.wait_for(websocket.receive(), settings.ws_auth_timeout_seconds)
        except TimeoutError:
            text = f"No auth message within {settings.ws_auth_timeout_seconds:g} s."
            await _refuse(websocket, CloseCode.TIMEOUT, "auth timeout", text)
            return None
        if message["type"] == "websocket.disconnect":
            return None
        token = _token_of(message_text(message), settings.ws_max_message_bytes)
        if token is None:
            await _refuse(websocket, CloseCode.UNAUTHORIZED, "unauthorized", AUTH_FIRST)
            return None
    try:
        async with runtime.db.session() as session:
            principal = await IdentityService(session, runtime.identity).authenticate(
                token, runtime.presentai_audience
            )
            return principal.user.id
    except Unauthorized:
        await _refuse(websocket, CloseCode.UNAUTHORIZED, "unauthorized", INVALID_TOKEN)
    except Exception:
        log.exception("websocket sign-in failed")
        await close_with(websocket, Closing(CloseCode.INTERNAL_ERROR, "internal error"))
    return None


def _token_of(raw: str | None, max_bytes: int) -> str | None:
    if raw is None or too_big(raw, max_bytes):
        return None
    try:
        message = parse_message(raw)
    except ProtocolError:
        return None
    return message.token if isinstance(message, AuthMessage) else None


async def _refuse(websocket: WebSocket, code: CloseCode, reason: str, text: str) -> None:
    await close_with(websocket, Closing(code, reason, error_frame("unauthorized", text)))
