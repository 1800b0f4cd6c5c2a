"""A Telegram Bot API server for tests: `POST /bot<token>/sendMessage`, as the real API answers.

It checks the token, the chat id and the message (length, HTML entities well-formed enough to
parse), records what it accepted, and can be switched into failure modes: `down` (502 from a
"gateway", as during an outage), `rate_limited` (429 with `parameters.retry_after`) and
`drop` (the connection is closed without an answer).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Mode = Literal["ok", "down", "rate_limited"]
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


@dataclass
class SentMessage:
    chat_id: str
    text: str
    parse_mode: str | None
    message_id: int


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-TOKEN"
    known_chats: set[str] = field(default_factory=lambda: {"1001", "1002"})
    mode: Mode = "ok"
    retry_after: int = 1
    sent: list[SentMessage] = field(default_factory=list)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/bot{token}/{method}", self._handle, methods=["POST", "GET"])]
        )

    async def _handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        if self.mode == "down":
            return Response("<html>502 Bad Gateway</html>", status_code=502, media_type="text/html")
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        if request.path_params["method"] != "sendMessage":
            return _error(404, "Not Found: method not found")
        if self.mode == "rate_limited":
            return _error(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                parameters={"retry_after": self.retry_after},
            )
        payload = await _payload(request)
        chat_id = str(payload.get("chat_id", ""))
        text = str(payload.get("text", ""))
        parse_mode = payload.get("parse_mode")
        if not chat_id or chat_id not in self.known_chats:
            return _error(400, "Bad Request: chat not found")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        if parse_mode == "HTML" and not _html_ok(text):
            return _error(400, "Bad Request: can't parse entities")
        with self._lock:
            message = SentMessage(chat_id, text, parse_mode, len(self.sent) + 1)
            self.sent.append(message)
        return JSONResponse(
            {
                "ok": True,
                "result": {
                    "message_id": message.message_id,
                    "date": int(time.time()),
                    "chat": {"id": int(chat_id), "type": "private"},
                    "text": text,
                },
            }
        )


async def _payload(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        data: dict[str, Any] = await request.json()
        return data
    form = await request.form()
    return {key: value for key, value in form.items()}


def _error(code: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": code, "description": description, **extra}, status_code=code
    )


_TAG = re.compile(r"</?([a-z-]+)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def _html_ok(text: str) -> bool:
    """Telegram's rule: every <, > and & outside a supported tag or entity must be escaped,
    and tags must nest properly."""
    stack: list[str] = []
    for match in _TAG.finditer(text):
        tag = match.group(1)
        if tag not in ALLOWED_TAGS:
            return False
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != tag:
                return False
        else:
            stack.append(tag)
    bare = _ENTITY.sub("", _TAG.sub("", text))
    return not stack and not any(ch in bare for ch in "<>&")
