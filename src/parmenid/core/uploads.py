"""Reading one uploaded file from a multipart/form-data body, as it streams in.

python-multipart parses; this keeps the first file of one field and refuses it (413) the moment
it passes the limit, so an oversized upload is never read to the end nor held in memory.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from parmenid.core.errors import (
    BadRequest,
    FieldProblem,
    PayloadTooLarge,
    Text,
    UnsupportedMediaType,
    ValidationFailed,
)

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MULTIPART_OVERHEAD = 64 * 1024  # the rest of the body besides the file
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


NOT_MULTIPART = Text(
    "Send the file as multipart/form-data in the `file` field.",
    "Отправьте файл как multipart/form-data в поле `file`.",
)
NO_FILE = Text("A file in the `file` field is required.", "Нужен файл в поле `file`.")
BAD_MULTIPART = Text(
    "The multipart/form-data body is malformed or incomplete.",
    "Тело multipart/form-data повреждено или передано не полностью.",
)


def file_too_large(limit: int) -> PayloadTooLarge:
    mib = f"{limit / (1024 * 1024):.3g}"
    return PayloadTooLarge(
        Text(
            f"The file is too large: at most {mib} MiB.",
            f"Файл слишком большой: не более {mib} МБ.",
        ),
        extra={"max_bytes": limit},
        headers={"Connection": "close"},
    )


class _FileCollector:
    """python-multipart callbacks keeping the first file of one field, refusing it as soon as it
    grows past the limit (the rest of the body is never read)."""

    def __init__(self, field: str, max_bytes: int) -> None:
        self.field = field.encode()
        self.max_bytes = max_bytes
        self.filename: str | None = None
        self.data = bytearray()
        self.complete = False
        self._header = [b"", b""]
        self._disposition = b""
        self._collecting = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add(0, data[start:end]),
            "on_header_value": lambda data, start, end: self._add(1, data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _add(self, index: int, chunk: bytes) -> None:
        self._header[index] += chunk

    def _part_begin(self) -> None:
        self._disposition = b""
        self._collecting = False

    def _header_end(self) -> None:
        if self._header[0].lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if self.filename is None and options.get(b"name") == self.field:
            raw = options.get(b"filename")
            if raw is not None:
                name = raw.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
                self.filename = CONTROL.sub("", name).strip()
                self._collecting = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._collecting:
            self.data += data[start:end]
            if len(self.data) > self.max_bytes:
                raise file_too_large(self.max_bytes)

    def _part_end(self) -> None:
        if self._collecting:
            self.complete = True
            self._collecting = False


async def read_upload(request: Request, field: str, max_bytes: int) -> tuple[str, bytes]:
    """The name and content of the file in `field` of a multipart/form-data body, read as it
    streams in: 413 as soon as it (or the body) is over the limit, 415 for another media type,
    422 without the file."""
    media_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(NOT_MULTIPART, extra={"expected": "multipart/form-data"})
    body_limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise file_too_large(max_bytes)
    collector = _FileCollector(field, max_bytes)
    parser = MultipartParser(boundary, collector.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise file_too_large(max_bytes)
            parser.write(chunk)
        parser.finalize()
    except (MultipartParseError, ClientDisconnect) as exc:
        raise BadRequest(BAD_MULTIPART) from exc
    if collector.filename is None or (not collector.filename and not collector.data):
        raise ValidationFailed(NO_FILE, problems=[FieldProblem(field, NO_FILE, "missing")])
    if not collector.complete:
        raise BadRequest(BAD_MULTIPART)
    return collector.filename or "document", bytes(collector.data)


def multipart_body(field: str) -> dict[str, object]:
    """OpenAPI for a route that reads one file with `read_upload` (FastAPI cannot infer it)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {field: {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    }
