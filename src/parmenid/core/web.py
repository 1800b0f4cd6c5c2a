"""HTTP building blocks shared by both apps: body limits, content types, languages, validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parmenid.core.errors import (
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


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, whether announced by Content-Length or
    streamed. The streamed case raises inside the endpoint so the app's error handler renders it."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefixes: Sequence[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes or ("\0",)):
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    scope.setdefault("state", {})["body_too_large"] = True
                break
        received = 0
        max_bytes = self.max_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise PayloadTooLarge(BODY_TOO_LARGE, extra={"max_bytes": max_bytes})
            return message

        await self.app(scope, limited_receive, send)


def reject_oversized(request: Request) -> None:
    """Dependency: a body announced larger than the limit is refused before it is read."""
    if request.scope.get("state", {}).get("body_too_large"):
        raise PayloadTooLarge(BODY_TOO_LARGE)


NOT_JSON = Text(
    "Send the body as JSON with the header Content-Type: application/json.",
    "Отправьте тело запроса в формате JSON с заголовком Content-Type: application/json.",
)


def require_json(request: Request) -> None:
    """Dependency for JSON endpoints: a body in any other media type answers 415."""
    reject_oversized(request)
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
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
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
