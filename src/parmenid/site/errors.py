"""The site's error envelope: `{"error": {"code": "VALIDATION_ERROR", "message": ...}}`.

Messages are meant to be shown to visitors as they are: Russian by default, English when the
request prefers it (`Accept-Language: en`).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from parmenid.core.errors import AppError
from parmenid.core.observability import request_id_of
from parmenid.core.web import preferred_language

SITE_CODES = {
    "bad_request": "BAD_REQUEST",
    "unauthorized": "UNAUTHORIZED",
    "forbidden": "FORBIDDEN",
    "insufficient_role": "FORBIDDEN",
    "not_found": "NOT_FOUND",
    "method_not_allowed": "METHOD_NOT_ALLOWED",
    "conflict": "CONFLICT",
    "gone": "GONE",
    "payload_too_large": "PAYLOAD_TOO_LARGE",
    "unsupported_media_type": "UNSUPPORTED_MEDIA_TYPE",
    "validation_error": "VALIDATION_ERROR",
    "rate_limit_exceeded": "RATE_LIMIT",
    "service_unavailable": "SERVICE_UNAVAILABLE",
    "internal_error": "INTERNAL_ERROR",
}


def site_code(error: AppError) -> str:
    return error.site_code or SITE_CODES.get(error.code, error.code.upper())


def render_site_error(request: Request, error: AppError) -> JSONResponse:
    lang = preferred_language(request)
    body: dict[str, object] = {
        "code": site_code(error),
        "message": error.message.get(lang),
        "request_id": request_id_of(request),
    }
    if error.problems:
        body["details"] = [
            {"field": problem.field, "message": problem.message.get(lang), "type": problem.kind}
            for problem in error.problems
        ]
    body.update({key: value for key, value in error.extra.items() if key not in body})
    return JSONResponse(
        {"error": body},
        status_code=error.status,
        headers={"Content-Language": lang, "Cache-Control": "no-store"},
    )
