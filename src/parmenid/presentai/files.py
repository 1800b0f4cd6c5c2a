"""`/api/v1/files`: sources for presentations. An upload or a web address becomes a source
document of the organization, ingested by a job; `GET /files/{id}` reports how far it got."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from parmenid.core.errors import Text
from parmenid.core.safe_fetch import FetchPolicy
from parmenid.core.uploads import multipart_body, read_upload
from parmenid.core.web import require_json
from parmenid.identity.models import Role
from parmenid.knowledge.intake import add_upload, download
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.authz import (
    OrgAccess,
    in_body_organization,
    in_query_organization,
    on_resource,
    owned_by,
)
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/files", tags=["Files"])

UPLOAD_FIELD = "file"
UPLOAD_PATH = "/files/upload"


FILE = Text("File", "Файл")
Uploader = Annotated[OrgAccess, Depends(in_query_organization(Role.EDITOR, "presentations:write"))]
Importer = Annotated[OrgAccess, Depends(in_body_organization(Role.EDITOR, "presentations:write"))]
Reader = Annotated[
    OrgAccess,
    Depends(
        on_resource(
            "document_id", owned_by(SourceDocument), FILE, Role.VIEWER, "presentations:read"
        )
    ),
]


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    filename: str
    kind: str | None
    size_bytes: int
    source_url: str | None
    title: str | None
    page_count: int | None
    ingestion_status: Literal["pending", "processing", "indexed", "failed"]
    chunks_created: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    indexed_at: datetime | None


class UrlImport(BaseModel):
    organization_id: uuid.UUID
    url: str = Field(min_length=1, max_length=2000, description="An http(s) address")


UPLOAD_BODY = multipart_body(UPLOAD_FIELD)


@router.post(
    "/upload",
    status_code=202,
    response_model=FileOut,
    openapi_extra=UPLOAD_BODY,
    responses={
        413: {"description": "file_too_large"},
        415: {"description": "unsupported_file_type (the type is read from the content)"},
        422: {"description": "validation_error: no file, or an empty, damaged or locked one"},
    },
)
async def upload_file(
    access: Uploader, request: Request, session: SessionDep, runtime: RuntimeDep
) -> FileOut:
    """Stores the file (`multipart/form-data`, field `file`) and queues its ingestion; poll
    `GET /files/{id}` for `ingestion_status`. `organization_id` is a query parameter (an API
    key may leave it out)."""
    organization_id = access.organization.id
    await session.commit()  # no database connection is held while the file arrives
    filename, data = await read_upload(
        request, UPLOAD_FIELD, runtime.settings.knowledge.max_upload_bytes
    )
    assert runtime.storage is not None
    document = await add_upload(
        session,
        runtime.storage,
        organization_id,
        filename,
        data,
        created_by=access.caller.user.id if access.caller.user else None,
    )
    access.caller.audit(
        "file.uploaded",
        target_type="file",
        target_id=document.id,
        changes={"filename": document.filename, "kind": document.kind},
    )
    return FileOut.model_validate(document)


@router.post(
    "/url",
    status_code=202,
    response_model=FileOut,
    dependencies=[Depends(require_json)],
    responses={
        415: {"description": "unsupported_file_type"},
        422: {"description": "validation_error: the address was refused or could not be read"},
    },
)
async def import_url(
    body: UrlImport, access: Importer, session: SessionDep, runtime: RuntimeDep
) -> FileOut:
    """Downloads the address through the SSRF guard (no private, loopback or metadata
    addresses; every redirect re-checked) and queues the document's ingestion."""
    policy = FetchPolicy(
        allow_loopback=runtime.settings.knowledge.allow_loopback_urls,
        max_bytes=runtime.settings.knowledge.max_upload_bytes,
    )
    name, content = await download(body.url, client=runtime.http, policy=policy)
    assert runtime.storage is not None
    document = await add_upload(
        session,
        runtime.storage,
        access.organization.id,
        name,
        content,
        created_by=access.caller.user.id if access.caller.user else None,
        source_url=body.url,
    )
    access.caller.audit(
        "file.imported",
        target_type="file",
        target_id=document.id,
        changes={"url": body.url, "kind": document.kind},
    )
    return FileOut.model_validate(document)


@router.get("/{document_id}", response_model=FileOut)
async def get_file(document_id: uuid.UUID, access: Reader, session: SessionDep) -> FileOut:
    """The file and its ingestion status (`pending` → `processing` → `indexed` or `failed`,
    with `error_code` and `error_message`)."""
    document = await session.get(SourceDocument, document_id)
    assert document is not None
    return FileOut.model_validate(document)
