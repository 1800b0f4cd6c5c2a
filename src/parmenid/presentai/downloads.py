"""Signed download links and `GET /downloads/{token}` that serves them.

One mechanism for every file the API hands out: prepared files (personal data, audit CSVs)
and presentation exports (registered by `parmenid.presentai.exports` with `downloadable`).
A link names a file id (and perhaps a variant such as an export's thumbnail), an expiry and an
HMAC signature; it needs no other credentials. A forged link answers 404; an expired link, or
a file that is no longer kept, 410 `gone`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.downloads import FileStatus, LinkSigner, PreparedFile
from parmenid.core.errors import Gone, Text, not_found
from parmenid.core.storage import ObjectNotFound
from parmenid.presentai.authz import Public
from parmenid.runtime import Runtime
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/downloads", tags=["Downloads"], dependencies=[Public])

EXPIRED_LINK = Text(
    "This download link has expired. Ask for a fresh one from the export's status.",
    "Срок действия ссылки истёк. Получите новую в статусе экспорта.",
)
FILE_GONE = Text(
    "The file is no longer kept. Start a new export.",
    "Файл больше не хранится. Запустите экспорт заново.",
)


class PreparedFileOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: Literal["pending", "ready", "failed"]
    status_url: str
    download_url: str | None = Field(
        default=None, description="A signed link, present once the file is ready."
    )
    download_url_expires_at: datetime | None = None
    filename: str
    size_bytes: int | None
    created_at: datetime
    completed_at: datetime | None
    expires_at: datetime | None = Field(description="When the file itself is deleted.")
    error: str | None


@dataclass(frozen=True)
class Download:
    """A file a link may serve."""

    storage_key: str | None  # None: not (or no longer) stored
    filename: str
    content_type: str
    kept_until: datetime | None  # the file is deleted then; links answer 410 after
    gone: Text | None = None  # why it is gone although kept (e.g. its presentation deleted)


# Finds the file a verified link names: (session, file id, variant) → the file, or None.
DownloadResolver = Callable[[AsyncSession, uuid.UUID, str | None], Awaitable[Download | None]]
_resolvers: list[DownloadResolver] = []


def downloadable(resolver: DownloadResolver) -> DownloadResolver:
    """Register a kind of file that signed links may serve."""
    _resolvers.append(resolver)
    return resolver


@downloadable
async def _prepared_file(
    session: AsyncSession, file_id: uuid.UUID, variant: str | None
) -> Download | None:
    prepared = await session.get(PreparedFile, file_id) if variant is None else None
    if prepared is None:
        return None
    return Download(
        prepared.storage_key if prepared.status == FileStatus.READY else None,
        prepared.filename,
        prepared.content_type,
        prepared.expires_at,
    )


def signer_of(runtime: Runtime) -> LinkSigner:
    return LinkSigner(runtime.settings.jwt_secret())


def signed_link(
    runtime: Runtime, file_id: uuid.UUID, ttl_seconds: int, variant: str | None = None
) -> tuple[str, datetime]:
    """A fresh absolute download link and when it expires."""
    token, expires = signer_of(runtime).sign(file_id, ttl_seconds, variant)
    base = runtime.settings.presentai.public_url.rstrip("/")
    return f"{base}/api/v1/downloads/{token}", datetime.fromtimestamp(expires, UTC)


def content_disposition(filename: str) -> str:
    """`attachment` with the name as it is (RFC 6266 `filename*`, UTF-8) and an ASCII
    fallback for old clients."""
    _, dot, extension = filename.rpartition(".")
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._")
    if not re.search(r"[A-Za-z0-9]", fallback.rpartition(".")[0] if dot else fallback):
        fallback = f"download.{extension}" if dot and extension.isascii() else "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def describe(prepared: PreparedFile, status_url: str, runtime: Runtime) -> PreparedFileOut:
    """The file's state; a ready file comes with a fresh signed link."""
    link, link_expires = None, None
    if prepared.status == FileStatus.READY and (
        prepared.expires_at is None or prepared.expires_at > utcnow()
    ):
        link, link_expires = signed_link(
            runtime, prepared.id, runtime.settings.presentai.download_link_ttl_seconds
        )
    return PreparedFileOut(
        id=prepared.id,
        kind=prepared.kind,
        status=prepared.status,
        status_url=status_url,
        download_url=link,
        download_url_expires_at=link_expires,
        filename=prepared.filename,
        size_bytes=prepared.size_bytes,
        created_at=prepared.created_at,
        completed_at=prepared.completed_at,
        expires_at=prepared.expires_at,
        error=prepared.error,
    )


@router.get(
    "/{token}",
    response_class=Response,
    responses={
        200: {"description": "The file", "content": {"application/octet-stream": {}}},
        410: {"description": "gone: the link or the file expired"},
    },
)
async def download(
    token: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Serves a file by its signed link (no other credentials needed)."""
    link = signer_of(runtime).verify_link(token)
    found = None
    if link is not None:
        for resolve in _resolvers:
            found = await resolve(session, link.file_id, link.variant)
            if found is not None:
                break
    if link is None or found is None:
        raise not_found("File", "Файл")
    if link.expires < utcnow().timestamp():
        raise Gone(EXPIRED_LINK)
    if found.gone is not None:
        raise Gone(found.gone)
    if found.storage_key is None or (found.kept_until is not None and found.kept_until <= utcnow()):
        raise Gone(FILE_GONE)
    assert runtime.storage is not None
    try:
        data = await runtime.storage.get(found.storage_key)
    except ObjectNotFound as exc:
        raise Gone(FILE_GONE) from exc
    return Response(
        data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": content_disposition(found.filename),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
