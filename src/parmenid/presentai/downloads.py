"""Prepared files as the API shows them, and `GET /downloads/{token}` that serves them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from parmenid.core.db import utcnow
from parmenid.core.downloads import FileStatus, LinkSigner, PreparedFile
from parmenid.core.errors import Gone, Text, not_found
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


def signer_of(runtime: Runtime) -> LinkSigner:
    return LinkSigner(runtime.settings.jwt_secret())


def describe(prepared: PreparedFile, status_url: str, runtime: Runtime) -> PreparedFileOut:
    """The file's state; a ready file comes with a fresh signed link."""
    link, link_expires = None, None
    if prepared.status == FileStatus.READY and (
        prepared.expires_at is None or prepared.expires_at > utcnow()
    ):
        token, expires = signer_of(runtime).sign(
            prepared.id, runtime.settings.presentai.download_link_ttl_seconds
        )
        base = runtime.settings.presentai.public_url.rstrip("/")
        link = f"{base}/api/v1/downloads/{token}"
        link_expires = datetime.fromtimestamp(expires, UTC)
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
    """Serves a prepared file by its signed link (no other credentials needed)."""
    verified = signer_of(runtime).verify(token)
    if verified is None:
        raise not_found("File", "Файл")
    file_id, expires = verified
    prepared = await session.get(PreparedFile, file_id)
    if prepared is None:
        raise not_found("File", "Файл")
    if expires < utcnow().timestamp():
        raise Gone(EXPIRED_LINK)
    if prepared.storage_key is None or (
        prepared.expires_at is not None and prepared.expires_at <= utcnow()
    ):
        raise Gone(FILE_GONE)
    assert runtime.storage is not None
    try:
        data = await runtime.storage.get(prepared.storage_key)
    except FileNotFoundError as exc:
        raise Gone(FILE_GONE) from exc
    return Response(
        data,
        media_type=prepared.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{prepared.filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
