"""`/api/v1/brand-kits`: an organization's corporate styles, their PPTX template and logo.

Editors manage them, members read them; API keys need `presentations:write` /
`presentations:read`. Another organization's kit answers 404.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from parmenid.core.uploads import multipart_body, read_upload
from parmenid.core.web import require_json
from parmenid.identity.models import Role
from parmenid.knowledge.parsers import ParseLimits
from parmenid.presentai.authz import (
    OrgAccess,
    in_body_organization,
    in_query_organization,
    on_resource,
    owned_by,
)
from parmenid.presentai.brand_kits.logos import inspect_logo
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.brand_kits.schemas import (
    BrandKitCreate,
    BrandKitOut,
    BrandKitPageOut,
    BrandKitUpdate,
)
from parmenid.presentai.brand_kits.service import BRAND_KIT, BrandKitService
from parmenid.presentai.brand_kits.templates import TemplateLimits, inspect_template_async
from parmenid.runtime import Runtime
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/brand-kits", tags=["Brand Kits"])
JSON_BODY = [Depends(require_json)]

UPLOAD_FIELD = "file"
UPLOAD_PATH = r"/brand-kits/[^/]+/(?:template|logo)"  # a regex, for the body-size guard
READ, WRITE = "presentations:read", "presentations:write"

Creator = Annotated[OrgAccess, Depends(in_body_organization(Role.EDITOR, WRITE))]
Lister = Annotated[OrgAccess, Depends(in_query_organization(Role.VIEWER, READ))]
Reader = Annotated[
    OrgAccess,
    Depends(on_resource("brand_kit_id", owned_by(BrandKit), BRAND_KIT, Role.VIEWER, READ)),
]
Editor = Annotated[
    OrgAccess,
    Depends(on_resource("brand_kit_id", owned_by(BrandKit), BRAND_KIT, Role.EDITOR, WRITE)),
]
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "file_too_large"},
    415: {"description": "unsupported_file_type (the type is read from the content)"},
    422: {"description": "validation_error: no file, or a damaged or unacceptable one"},
}


def service_of(session: SessionDep, runtime: Runtime) -> BrandKitService:
    return BrandKitService(
        session,
        runtime.storage,
        max_kits=runtime.settings.presentai.brand_kits_per_organization,
    )


def out(kit: BrandKit, runtime: Runtime) -> BrandKitOut:
    return BrandKitOut.of(kit, runtime.settings.presentai.public_url.rstrip("/") + "/api/v1")


def _actor_id(access: OrgAccess) -> uuid.UUID | None:
    return access.caller.user.id if access.caller.user else None


@router.post(
    "",
    status_code=201,
    response_model=BrandKitOut,
    dependencies=JSON_BODY,
    responses={409: {"description": "conflict: the organization has the most kits it may"}},
)
async def create_brand_kit(
    body: BrandKitCreate, access: Creator, session: SessionDep, runtime: RuntimeDep
) -> BrandKitOut:
    """A brand kit; the organization's first kit (or one sent with `is_default: true`)
    becomes its default."""
    kit = await service_of(session, runtime).create(access.organization.id, _actor_id(access), body)
    access.caller.audit(
        "brand_kit.created",
        target_type="brand_kit",
        target_id=kit.id,
        changes={"name": kit.name, "is_default": kit.is_default},
    )
    return out(kit, runtime)


@router.get("", response_model=BrandKitPageOut)
async def list_brand_kits(
    access: Lister,
    session: SessionDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200, description="Search in names")] = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BrandKitPageOut:
    """Newest first; `organization_id` in the query (an API key may omit it)."""
    page = await service_of(session, runtime).page(
        access.organization.id, query_text=q, cursor=cursor, limit=limit
    )
    return BrandKitPageOut(
        items=[out(kit, runtime) for kit in page.items], next_cursor=page.next_cursor
    )


@router.get("/{brand_kit_id}", response_model=BrandKitOut)
async def get_brand_kit(
    brand_kit_id: uuid.UUID, access: Reader, session: SessionDep, runtime: RuntimeDep
) -> BrandKitOut:
    return out(await service_of(session, runtime).get(brand_kit_id), runtime)


@router.patch("/{brand_kit_id}", response_model=BrandKitOut, dependencies=JSON_BODY)
async def update_brand_kit(
    brand_kit_id: uuid.UUID,
    body: BrandKitUpdate,
    access: Editor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BrandKitOut:
    """Only the fields sent change. `colors`, `fonts` and `default_layouts` are merged into
    the stored ones (a key sent as null is removed; the object sent as null clears it).
    `is_default: true` makes this the organization's default."""
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id)
    changes = await service.update(kit, body)
    if changes:
        access.caller.audit(
            "brand_kit.updated", target_type="brand_kit", target_id=kit.id, changes=changes
        )
    return out(kit, runtime)


@router.delete("/{brand_kit_id}", status_code=204, response_class=Response)
async def delete_brand_kit(
    brand_kit_id: uuid.UUID, access: Editor, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Deletes the kit and its files. Presentations that used it use the organization's
    default from now on; if it was the default, the oldest remaining kit becomes it."""
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id)
    name = kit.name
    new_default = await service.delete(kit)
    changes: dict[str, Any] = {"name": name}
    if new_default is not None:
        changes["new_default"] = str(new_default)
    access.caller.audit(
        "brand_kit.deleted", target_type="brand_kit", target_id=brand_kit_id, changes=changes
    )
    return Response(status_code=204)


async def _receive(request: Request, session: SessionDep, max_bytes: int) -> tuple[str, bytes]:
    """The uploaded file, read with no database connection held while it arrives."""
    await session.commit()
    return await read_upload(request, UPLOAD_FIELD, max_bytes)


@router.post(
    "/{brand_kit_id}/template",
    response_model=BrandKitOut,
    openapi_extra=multipart_body(UPLOAD_FIELD),
    responses={**UPLOAD_ERRORS, 201: {"description": "The kit, with its first template"}},
)
async def upload_template(
    brand_kit_id: uuid.UUID,
    access: Editor,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BrandKitOut:
    """Takes a PPTX (or POTX) template, `multipart/form-data` field `file`: checked to be a
    real PowerPoint presentation within limits (see `template` in the answer for what was
    found), then used for this kit's PPTX exports. 201 for the kit's first template, 200 when
    it replaces one."""
    settings = runtime.settings.presentai
    filename, data = await _receive(request, session, settings.template_max_bytes)
    limits = TemplateLimits(
        max_layouts=settings.template_max_layouts,
        max_masters=settings.template_max_masters,
        max_slides=settings.template_max_slides,
        timeout_seconds=settings.template_open_timeout_seconds,
        archive=ParseLimits(max_bytes=settings.template_max_bytes),
    )
    template = await inspect_template_async(data, limits)
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id, reload=True)  # deleted while it arrived: 404
    replaced = await service.set_template(kit, filename, template)
    response.status_code = 200 if replaced else 201
    access.caller.audit(
        "brand_kit.template_uploaded",
        target_type="brand_kit",
        target_id=kit.id,
        changes={
            "filename": kit.template_filename,
            "layouts": len(template.info["layouts"]),
            "replaced": replaced,
        },
    )
    return out(kit, runtime)


@router.delete("/{brand_kit_id}/template", response_model=BrandKitOut)
async def remove_template(
    brand_kit_id: uuid.UUID, access: Editor, session: SessionDep, runtime: RuntimeDep
) -> BrandKitOut:
    """Removes the template (exports use the built-in layouts again); the kit in its new
    state. Removing a template that is not there changes nothing."""
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id)
    filename = kit.template_filename
    if await service.remove_template(kit):
        access.caller.audit(
            "brand_kit.template_removed",
            target_type="brand_kit",
            target_id=kit.id,
            changes={"filename": filename},
        )
    return out(kit, runtime)


@router.post(
    "/{brand_kit_id}/logo",
    response_model=BrandKitOut,
    openapi_extra=multipart_body(UPLOAD_FIELD),
    responses={**UPLOAD_ERRORS, 201: {"description": "The kit, with its first logo"}},
)
async def upload_logo(
    brand_kit_id: uuid.UUID,
    access: Editor,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> BrandKitOut:
    """Takes a PNG or JPEG logo (`multipart/form-data` field `file`; the type is read from the
    content) of at most `logo_max_bytes` and `logo_max_side_px` a side. 201 for the kit's
    first logo, 200 when it replaces one."""
    settings = runtime.settings.presentai
    filename, data = await _receive(request, session, settings.logo_max_bytes)
    logo = await inspect_logo(data, settings.logo_max_side_px)
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id, reload=True)
    replaced = await service.set_logo(kit, data, logo)
    response.status_code = 200 if replaced else 201
    access.caller.audit(
        "brand_kit.logo_uploaded",
        target_type="brand_kit",
        target_id=kit.id,
        changes={
            "filename": filename,
            "content_type": logo.content_type,
            "size": f"{logo.width}x{logo.height}",
            "replaced": replaced,
        },
    )
    return out(kit, runtime)


@router.delete("/{brand_kit_id}/logo", response_model=BrandKitOut)
async def remove_logo(
    brand_kit_id: uuid.UUID, access: Editor, session: SessionDep, runtime: RuntimeDep
) -> BrandKitOut:
    """Removes the logo; the kit in its new state (nothing changes if it had none)."""
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id)
    if await service.remove_logo(kit):
        access.caller.audit("brand_kit.logo_removed", target_type="brand_kit", target_id=kit.id)
    return out(kit, runtime)


@router.get(
    "/{brand_kit_id}/logo",
    response_class=Response,
    responses={
        200: {"description": "The logo", "content": {"image/png": {}, "image/jpeg": {}}},
        204: {"description": "The kit has no logo"},
        304: {"description": "Not modified (If-None-Match)"},
    },
)
async def get_logo(
    brand_kit_id: uuid.UUID,
    access: Reader,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The logo image, for showing it; 204 when the kit has none (see `has_logo`)."""
    service = service_of(session, runtime)
    kit = await service.get(brand_kit_id)
    data = await service.logo(kit)
    if data is None or kit.logo_content_type is None:
        return Response(status_code=204, headers={"Cache-Control": "private, no-cache"})
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=kit.logo_content_type, headers=headers)
