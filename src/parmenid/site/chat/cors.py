"""CORS for the public chat API, which widgets call from other sites.

The site's general CORS list names the company's own front ends; a chat widget runs on any
site an avatar's owner embeds it in. So for `/api/v1/chat/` the requesting origin is echoed
back, and the avatar's own allow-list decides, in the endpoint: an origin that is not on a set
list gets 403 (and no data), whatever the browser was told before.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/v1/chat/"
ALLOWED_HEADERS = "content-type, accept-language, x-request-id"


class ChatCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                        (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                        (b"access-control-max-age", b"600"),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["access-control-allow-origin"] = origin
                headers["access-control-expose-headers"] = "retry-after, x-request-id"
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)
