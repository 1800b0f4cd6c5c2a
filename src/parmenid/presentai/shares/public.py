"""`/api/v1/share/{token}`: a shared deck as JSON, its unlock, and its viewers' reports.

Anyone with the link may call these (no account). Answers: an unknown or revoked link, or one
of a deleted presentation, 404 `not_found`; an expired one 410 `gone`; a password-protected one
without a valid `X-Share-Access` token 401 `unauthorized` with `password_required: true`; too
many requests 429 `rate_limit_exceeded` with `Retry-After`. Every answer carries
`Cache-Control: no-store`, `Referrer-Policy: no-referrer` and `X-Robots-Tag: noindex`.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ValidationError

from parmenid.core.db import utcnow
from parmenid.core.errors import BadRequest, NotFound
from parmenid.core.web import MALFORMED_JSON, problems_from_pydantic, validation_error
from parmenid.presentai.authz import Public
from parmenid.presentai.shares.access import (
    ACCESS_HEADER,
    SECURITY_HEADERS,
    check_password,
    keys_of,
    public_request,
    require_access,
    secured,
)
from parmenid.presentai.shares.analytics import (
    VIEW_NOT_FOUND,
    DwellCaps,
    record_dwell,
    reported_dwell,
    start_view,
)
from parmenid.presentai.shares.schemas import (
    ShareAccessOut,
    SharedDeckOut,
    UnlockIn,
    ViewStartedOut,
    ViewUpdatedOut,
)
from parmenid.presentai.shares.service import ShareService
from parmenid.webapp import RuntimeDep, SessionDep, ip_of

M = TypeVar("M", bound=BaseModel)
AccessHeader = Annotated[
    str | None,
    Header(
        alias=ACCESS_HEADER,
        description="For a password-protected link: the access token from `unlock`.",
    ),
]
router = APIRouter(prefix="/share", tags=["Public shares"], dependencies=[Public])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unauthorized: the link has a password (`password_required: true`)"},
    404: {"description": "not_found: no such link, revoked, or its presentation deleted"},
    410: {"description": "gone: the link has expired"},
    429: {"description": "rate_limit_exceeded (with Retry-After)"},
}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise secured(BadRequest(MALFORMED_JSON)) from exc


def _validated(model: type[M], document: Any) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise secured(validation_error(problems_from_pydantic(exc.errors()))) from exc


@router.get("/{token}", response_model=SharedDeckOut, responses=ERRORS)
async def shared_deck(
    token: str,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    access_token: AccessHeader = None,
) -> SharedDeckOut:
    """The deck: title, and slides in order with title, layout and bullets with their
    citations. A password-protected link needs the `X-Share-Access` header from `unlock`."""
    await public_request(runtime, ip_of(request))
    service = ShareService(session, keys_of(runtime))
    share, presentation = await service.resolve(token, SECURITY_HEADERS)
    require_access(service.keys, share, access_token)
    response.headers.update(SECURITY_HEADERS)
    return await service.deck(share, presentation)


@router.post("/{token}/unlock", response_model=ShareAccessOut, responses=ERRORS)
async def unlock_share(
    token: str, request: Request, response: Response, session: SessionDep, runtime: RuntimeDep
) -> ShareAccessOut:
    """`{"password": ...}` → a short-lived access token for this link, to send as the
    `X-Share-Access` header. Wrong passwords are limited per link and client IP (429)."""
    ip = ip_of(request)
    await public_request(runtime, ip)
    body = _validated(UnlockIn, await _json(request))
    service = ShareService(session, keys_of(runtime))
    share, _ = await service.resolve(token, SECURITY_HEADERS)
    await check_password(runtime, share, body.password, ip)
    ttl = runtime.settings.presentai.share_access_ttl_seconds
    access_token, expires_at = service.keys.access_token(share.id, ttl)
    response.headers.update(SECURITY_HEADERS)
    return ShareAccessOut(access_token=access_token, expires_at=expires_at, expires_in=ttl)


@router.post("/{token}/views", status_code=201, response_model=ViewStartedOut, responses=ERRORS)
async def start_share_view(
    token: str,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    access_token: AccessHeader = None,
) -> ViewStartedOut:
    """Starts a view (the viewer page calls it when it shows the deck). The visitor is kept
    only as a hash under a salt of the day that is deleted when the day is over."""
    ip = ip_of(request)
    await public_request(runtime, ip)
    service = ShareService(session, keys_of(runtime))
    share, _ = await service.resolve(token, SECURITY_HEADERS)
    require_access(service.keys, share, access_token)
    view = await start_view(session, share, ip, request.headers.get("user-agent", ""), utcnow())
    response.headers.update(SECURITY_HEADERS)
    return ViewStartedOut(view_id=view.id)


@router.post("/{token}/views/{view_id}", response_model=ViewUpdatedOut, responses=ERRORS)
async def report_share_view(
    token: str,
    view_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ViewUpdatedOut:
    """`{"dwell_ms": {"1": 5300, "2": 1200}}`: the time spent on each slide so far in this
    view (running totals; a beacon may repeat or arrive late). Unknown slides and impossible
    values are ignored; what a report may add is capped."""
    await public_request(runtime, ip_of(request))
    try:
        view = uuid.UUID(view_id)
    except ValueError as exc:
        raise secured(NotFound(VIEW_NOT_FOUND)) from exc
    document = await _json(request)
    if not isinstance(document, dict):
        raise secured(BadRequest(MALFORMED_JSON))
    service = ShareService(session, keys_of(runtime))
    share, presentation = await service.resolve(token, SECURITY_HEADERS)
    reported = reported_dwell(document.get("dwell_ms"), await service.slide_count(presentation.id))
    settings = runtime.settings.presentai
    caps = DwellCaps(settings.share_dwell_event_max_ms, settings.share_dwell_view_max_ms)
    try:
        updated = await record_dwell(session, share, view, reported, caps, utcnow())
    except NotFound as exc:
        raise secured(exc) from None
    response.headers.update(SECURITY_HEADERS)
    return ViewUpdatedOut(view_id=updated.id, total_ms=updated.total_ms, dwell_ms=updated.dwell_ms)
