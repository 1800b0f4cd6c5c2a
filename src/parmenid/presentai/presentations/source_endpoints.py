"""`/api/v1/presentations/{presentation_id}/sources`: the documents a presentation is made from.

A source is added from a file already uploaded (`file_id`), from a web address (`url`, through
the SSRF guard) or as a `multipart/form-data` upload (`.../sources/upload`); new content is
ingested by a job (poll `ingestion_status` here or on `GET /files/{id}`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from parmenid.core.safe_fetch import FetchPolicy
from parmenid.core.uploads import multipart_body, read_upload
from parmenid.core.web import require_json
from parmenid.knowledge.intake import download
from parmenid.presentai.authz import OrgAccess
from parmenid.presentai.presentations.auth import PresentationEditor, PresentationReader
from parmenid.presentai.presentations.endpoints import Service
from parmenid.presentai.presentations.schemas import SourceAdd, SourceListOut, SourceOut
from parmenid.presentai.presentations.sources import SourceService
from parmenid.webapp import RuntimeDep

router = APIRouter(prefix="/presentations/{presentation_id}/sources", tags=["Presentations"])

UPLOAD_FIELD = "file"
UPLOAD_PATH = r"/presentations/[^/]+/sources/upload"  # a regex, for the body-size guard
BUSY_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "conflict: already a source, or the presentation is generating"}
}


async def sources_of(service: Service) -> SourceService:
    return SourceService(service.session, service)


Sources = Annotated[SourceService, Depends(sources_of)]


def _actor_id(access: OrgAccess) -> uuid.UUID | None:
    return access.caller.user.id if access.caller.user else None


def _noted(access: OrgAccess, presentation_id: uuid.UUID, source: SourceOut, how: str) -> SourceOut:
    access.caller.audit(
        "presentation.source_added",
        target_type="presentation",
        target_id=presentation_id,
        changes={
            "source_id": str(source.id),
            "document_id": str(source.document_id),
            "filename": source.filename,
            "from": how,
        },
    )
    return source


@router.get("", response_model=SourceListOut)
async def list_sources(
    presentation_id: uuid.UUID, access: PresentationReader, service: Service
) -> SourceListOut:
    """The sources in the order they were added, each with its document's ingestion status."""
    presentation = await service.get_live(presentation_id)
    return SourceListOut(items=await service.sources(presentation.id))


@router.post(
    "",
    status_code=201,
    response_model=SourceOut,
    dependencies=[Depends(require_json)],
    responses={
        **BUSY_409,
        404: {"description": "not_found: no such presentation, or no such file here"},
        415: {"description": "unsupported_file_type"},
        422: {
            "description": "validation_error: not exactly one of file_id / url, or the "
            "address was refused or could not be read"
        },
    },
)
async def add_source(
    presentation_id: uuid.UUID,
    body: SourceAdd,
    access: PresentationEditor,
    service: Service,
    sources: Sources,
    runtime: RuntimeDep,
) -> SourceOut:
    """Adds `{"file_id": ...}` (a file of the organization) or `{"url": "https://..."}` (the
    address is downloaded through the SSRF guard and ingested)."""
    presentation = await service.get_live(presentation_id)
    actor = _actor_id(access)
    if body.file_id is not None:
        link, document = await sources.add_document(presentation, body.file_id, actor)
        how = "file"
    else:
        assert body.url is not None
        await service.ensure_idle(presentation)  # before the download, to fail fast
        policy = FetchPolicy(
            allow_loopback=runtime.settings.knowledge.allow_loopback_urls,
            max_bytes=runtime.settings.knowledge.max_upload_bytes,
        )
        name, content = await download(body.url, client=runtime.http, policy=policy)
        assert runtime.storage is not None
        link, document = await sources.add_content(
            presentation, runtime.storage, name, content, added_by=actor, source_url=body.url
        )
        how = "url"
    return _noted(access, presentation.id, SourceOut.of(link, document), how)


@router.post(
    "/upload",
    status_code=201,
    response_model=SourceOut,
    openapi_extra=multipart_body(UPLOAD_FIELD),
    responses={
        **BUSY_409,
        413: {"description": "file_too_large"},
        415: {"description": "unsupported_file_type (the type is read from the content)"},
        422: {"description": "validation_error: no file, or an empty, damaged or locked one"},
    },
)
async def upload_source(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    request: Request,
    service: Service,
    sources: Sources,
    runtime: RuntimeDep,
) -> SourceOut:
    """Uploads a file (`multipart/form-data`, field `file`) as a new source and queues its
    ingestion; the upload size limit of `/files/upload` applies."""
    presentation = await service.get_live(presentation_id)
    await service.ensure_idle(presentation)  # before the upload, to fail fast
    await service.session.commit()  # no database connection is held while the file arrives
    filename, data = await read_upload(
        request, UPLOAD_FIELD, runtime.settings.knowledge.max_upload_bytes
    )
    presentation = await service.get_live(presentation_id, reload=True)  # changed meanwhile?
    assert runtime.storage is not None
    link, document = await sources.add_content(
        presentation, runtime.storage, filename, data, added_by=_actor_id(access)
    )
    return _noted(access, presentation.id, SourceOut.of(link, document), "upload")


@router.delete(
    "/{source_id}",
    status_code=204,
    response_class=Response,
    responses={409: {"description": "conflict: the presentation is being generated"}},
)
async def remove_source(
    presentation_id: uuid.UUID,
    source_id: uuid.UUID,
    access: PresentationEditor,
    service: Service,
    sources: Sources,
) -> Response:
    """Removes the source. Its document (row, file and index entries) is deleted too unless
    another presentation uses it."""
    presentation = await service.get_live(presentation_id)
    link, deleted = await sources.remove(presentation, source_id)
    access.caller.audit(
        "presentation.source_removed",
        target_type="presentation",
        target_id=presentation.id,
        changes={
            "source_id": str(link.id),
            "document_id": str(link.document_id),
            "document_deleted": bool(deleted),
        },
    )
    return Response(status_code=204)
