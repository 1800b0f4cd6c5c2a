"""PresentAI's error envelope: `{"error": "insufficient_role", "message": ..., "request_id": ...}`.

Codes follow the contract's table; extra fields (`required`, `current`, `retry_after`, ...) sit
beside them at the top level.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from parmenid.core.errors import AppError
from parmenid.core.observability import request_id_of

# Where our canonical code differs from the contract's vocabulary.
PRESENTAI_CODES = {
    "payload_too_large": "file_too_large",
    "unsupported_media_type": "unsupported_file_type",
}


def render_presentai_error(request: Request, error: AppError) -> JSONResponse:
    body: dict[str, object] = {
        "error": PRESENTAI_CODES.get(error.code, error.code),
        "message": error.message.en,
    }
    body.update(error.extra)
    if error.problems:
        body["details"] = [
            {"field": problem.field, "message": problem.message.en, "type": problem.kind}
            for problem in error.problems
        ]
    body["request_id"] = request_id_of(request)
    return JSONResponse(body, status_code=error.status, headers={"Cache-Control": "no-store"})
