"""What travels over `/ws`: close codes, the client's messages, and the server's own frames.

Progress events themselves are the stored event dicts (see `presentai.generation.progress` and
`knowledge.ingestion`) plus `event_id`; the frames built here are the connection's own:
`authenticated`, `subscribed`, `unsubscribed`, `pong`, `error`, `resync_required` and
`stream_interrupted`.
"""

from __future__ import annotations

import enum
import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# "<ms>-<seq>" as Redis Streams and `core.streams.MemoryStreams` write them.
EVENT_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
_MAX_ID_PART = 2**64 - 1


class CloseCode(enum.IntEnum):
    """Why the server closed the connection (the WebSocket close code)."""

    MESSAGE_TOO_BIG = 1009  # a message over `ws_max_message_bytes`
    INTERNAL_ERROR = 1011
    CLIENT_TOO_SLOW = 1013  # "try again later": frames piled up unread for too long
    UNAUTHORIZED = 4401  # no, bad or expired token; or the first message was not `auth`
    TIMEOUT = 4408  # no `auth` message in time, or no message at all for the idle timeout


class ProtocolError(Exception):
    """A client message that cannot be acted on; answered with an error frame."""

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.job_id = job_id


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AuthMessage(_Message):
    type: Literal["auth"]
    token: str = Field(min_length=1)


class SubscribeMessage(_Message):
    type: Literal["subscribe"]
    job_id: uuid.UUID
    last_event_id: str | None = Field(default=None, pattern=EVENT_ID_PATTERN)

    @field_validator("last_event_id")
    @classmethod
    def _in_range(cls, value: str | None) -> str | None:
        if value is not None and any(int(part) > _MAX_ID_PART for part in value.split("-")):
            raise ValueError("not a stream event id (each part is at most 2**64 - 1)")
        return value


class UnsubscribeMessage(_Message):
    type: Literal["unsubscribe"]
    job_id: uuid.UUID


class PingMessage(_Message):
    type: Literal["ping"]


ClientMessage = AuthMessage | SubscribeMessage | UnsubscribeMessage | PingMessage
_MODELS: dict[str, type[ClientMessage]] = {
    "auth": AuthMessage,
    "subscribe": SubscribeMessage,
    "unsubscribe": UnsubscribeMessage,
    "ping": PingMessage,
}


def parse_message(raw: str) -> ClientMessage:
    """One client message, or `ProtocolError` saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError("The message is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ProtocolError('A message must be a JSON object with a "type".')
    job_id = data.get("job_id")
    job_ref = job_id if isinstance(job_id, str) else None
    kind = data.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(_MODELS)
        raise ProtocolError(f"Unknown message type {kind!r}; expected one of: {known}.", job_ref)
    if data.get("last_event_id") == "":
        data = {key: value for key, value in data.items() if key != "last_event_id"}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(_describe(exc), job_ref) from exc


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in problem["loc"]) or "message"
        if problem["type"] == "uuid_parsing":
            problems.append(f"{where}: must be a UUID")
        elif problem["type"] == "string_pattern_mismatch":
            problems.append(f'{where}: must be an event id such as "1718000000000-0"')
        else:
            problems.append(f"{where}: {problem['msg']}")
    return "Invalid message: " + "; ".join(problems) + "."


def error_frame(error: str, message: str, job_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "error": error, "message": message}
    if job_id is not None:
        frame["job_id"] = job_id
    return frame


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)
