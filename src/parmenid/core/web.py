"""HTTP building blocks shared by both apps: body limits, content types, languages, validation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parmenid.core.errors import (
    AppError,
    BadRequest,
    FieldProblem,
    PayloadTooLarge,
    Text,
    UnsupportedMediaType,
    ValidationFailed,
)

BODY_TOO_LARGE = Text(
    "The request body is too large.",
    "Слишком большой запрос.",
)


UNSTORABLE_TEXT = Text(
    "Text must not contain the NUL character (\\u0000) or unpaired surrogates (\\ud800-\\udfff).",
    "Текст не должен содержать символ NUL (\\u0000) или непарные суррогаты (\\ud800-\\udfff).",
)
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_NUL_IN_QUERY = re.compile(rb"%00|\x00")

ErrorResponder = Callable[[Request, AppError], Response]


class RequestBodyGuard:
    """Reads a request body up front (bodies are small here) and answers in the app's envelope:
    413 when it is over `max_bytes`, whether announced by Content-Length or streamed, and 422 when
    JSON text or the query string carries NUL characters, which PostgreSQL cannot store. The
    endpoint then receives the buffered body. Paths under `exempt_prefixes`, or matching
    `exempt_paths` (file uploads, which enforce their own limit), stream through untouched (their
    query string is still checked)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        respond: ErrorResponder,
        exempt_prefixes: Sequence[str] = (),
        exempt_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.respond = respond
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL_IN_QUERY.search(scope.get("query_string", b"")):  # a search for "%00"
            await self._refuse(scope, receive, send, ValidationFailed(UNSTORABLE_TEXT))
            return
        if self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        chunked = False
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
            elif key == b"transfer-encoding":
                chunked = True
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, PayloadTooLarge(BODY_TOO_LARGE))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, PayloadTooLarge(BODY_TOO_LARGE))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _SUSPECT_ESCAPE.search(body) and _has_unstorable_text(body):
            await self._refuse(scope, receive, send, ValidationFailed(UNSTORABLE_TEXT))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _exempt(self, path: str) -> bool:
        if self.exempt_prefixes and path.startswith(self.exempt_prefixes):
            return True
        return self.exempt_paths is not None and self.exempt_paths.fullmatch(path) is not None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
        if isinstance(error, PayloadTooLarge):
            error.extra.setdefault("max_bytes", self.max_bytes)
        response = self.respond(Request(scope, receive), error)
        for name, value in error.headers.items():
            response.headers[name] = value
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _has_unstorable_text(body: bytes) -> bool:
    """True when the JSON body holds a string that no database can store as UTF-8 text: one with
    NUL, or with a lone surrogate. Only called for bodies whose raw bytes look suspicious."""
    try:
        document = json.loads(body)
    except ValueError:
        return False  # not JSON: the endpoint reports that
    pending: list[Any] = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


NOT_JSON = Text(
    "Send the body as JSON with the header Content-Type: application/json.",
    "Отправьте тело запроса в формате JSON с заголовком Content-Type: application/json.",
)


async def require_json(request: Request) -> None:
    """Dependency for JSON endpoints: a body in any other media type answers 415.

    Dependencies are `async` on purpose: FastAPI runs plain functions in a thread pool."""
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if not has_body:
        return  # nothing to parse; a required body is reported as missing by validation
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return
    raise UnsupportedMediaType(NOT_JSON, extra={"expected": "application/json"})


def preferred_language(request: Request, supported: Sequence[str] = ("ru", "en")) -> str:
    """The best of `supported` by `Accept-Language` (q-values honoured); the first by default."""
    header = request.headers.get("accept-language")
    if not header:
        return supported[0]
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-", 1)[0]
        if primary in supported and quality > 0:
            candidate = (-quality, position, primary)
            if best is None or candidate < best:
                best = candidate
    return best[2] if best else supported[0]


MALFORMED_JSON = Text(
    "The request body is not valid JSON.",
    "Тело запроса не является корректным JSON.",
)

_MESSAGES: dict[str, Text] = {
    "missing": Text("is required", "обязательное поле"),
    "string_type": Text("must be a string", "должно быть строкой"),
    "string_too_long": Text(
        "is too long (at most {max_length} characters)",
        "слишком длинное (не более {max_length} символов)",
    ),
    "string_too_short": Text(
        "is too short (at least {min_length} characters)",
        "слишком короткое (не менее {min_length} символов)",
    ),
    "literal_error": Text("must be one of: {expected}", "должно быть одним из: {expected}"),
    "enum": Text("must be one of: {expected}", "должно быть одним из: {expected}"),
    "int_parsing": Text("must be a whole number", "должно быть целым числом"),
    "int_type": Text("must be a whole number", "должно быть целым числом"),
    "bool_type": Text("must be true or false", "должно быть true или false"),
    "uuid_parsing": Text("must be a UUID", "должно быть UUID"),
    "model_type": Text("must be a JSON object", "должно быть JSON-объектом"),
    "dict_type": Text("must be a JSON object", "должно быть JSON-объектом"),
    "greater_than_equal": Text("must be at least {ge}", "должно быть не меньше {ge}"),
    "less_than_equal": Text("must be at most {le}", "должно быть не больше {le}"),
}
_GENERIC = Text("is invalid", "имеет неверное значение")


def problems_from_pydantic(
    errors: Sequence[Mapping[str, Any]], labels: Mapping[str, Text] | None = None
) -> list[FieldProblem]:
    """Turn pydantic/FastAPI errors into messages a person can read, in both languages.

    A validator may raise `field_error(...)`, whose own two-language message is used as the
    whole message (for rules such as "at least one contact").
    """
    labels = labels or {}
    problems: list[FieldProblem] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:]  # where it came from, not a field: `fonts.body` stays
        field = ".".join(location) or "body"
        kind = str(error.get("type", "invalid"))
        ctx = dict(error.get("ctx") or {})
        if "ru" in ctx and kind not in _MESSAGES:
            problems.append(
                FieldProblem(field, Text(str(error.get("msg", "")), str(ctx["ru"])), kind)
            )
            continue
        template = _MESSAGES.get(kind, _GENERIC)
        if kind == "enum" or kind == "literal_error":
            ctx["expected"] = str(ctx.get("expected", "")).replace("'", "")
        label = labels.get(location[-1] if location else "", Text(field, field))
        try:
            detail = Text(template.en.format(**ctx), template.ru.format(**ctx))
        except (KeyError, IndexError):
            detail = _GENERIC
        problems.append(
            FieldProblem(field, Text(f"{label.en}: {detail.en}", f"{label.ru}: {detail.ru}"), kind)
        )
    return problems


def validation_error(problems: list[FieldProblem]) -> ValidationFailed | BadRequest:
    """One error for a failed validation; malformed JSON is a 400, everything else a 422."""
    if any(problem.kind == "json_invalid" for problem in problems):
        return BadRequest(MALFORMED_JSON)
    first = problems[0].message if problems else _GENERIC
    if len(problems) > 1:
        first = Text(
            "; ".join(problem.message.en for problem in problems),
            "; ".join(problem.message.ru for problem in problems),
        )
    return ValidationFailed(first, problems=problems)


def field_error(kind: str, text: Text) -> PydanticCustomError:
    """An error for pydantic validators that carries its message in both languages."""
    return PydanticCustomError(kind, text.en, {"ru": text.ru})
