"""`/api/v1/presentations/{id}/shares` and `/analytics`: public links and what their viewers did.

Editors create and revoke links (API keys: `presentations:write`); members read the list and
the analytics (`presentations:read`). A deleted presentation, or another organization's,
answers 404.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from parmenid.core.db import utcnow
from parmenid.core.errors import FieldProblem, Text, ValidationFailed
from parmenid.core.web import require_json
from parmenid.presentai.presentations.auth import PresentationEditor, PresentationReader
from parmenid.presentai.shares.access import keys_of
from parmenid.presentai.shares.analytics import day_of, report
from parmenid.presentai.shares.schemas import AnalyticsOut, ShareCreate, ShareListOut, ShareOut
from parmenid.presentai.shares.service import ShareCounts, ShareService, describe, expiry_of
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(prefix="/presentations", tags=["Shares"], dependencies=[Depends(require_json)])

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
BAD_PERIOD = Text(
    f"`from` must not be after `to`, and the period may span at most {MAX_PERIOD_DAYS} days.",
    f"`from` не может быть позже `to`, а период — длиннее {MAX_PERIOD_DAYS} дней.",
)


@router.post("/{presentation_id}/shares", status_code=201, response_model=ShareOut)
async def create_share(
    presentation_id: uuid.UUID,
    access: PresentationEditor,
    session: SessionDep,
    runtime: RuntimeDep,
    body: ShareCreate | None = None,
) -> ShareOut:
    """A public link to the presentation, with an optional expiry (`expires_at`, or
    `expires_in_days`; at most a year) and an optional password. The answer holds the link
    (`url`) and its `token`; members can copy them again from the list while it is active."""
    body = body or ShareCreate()
    now = utcnow()
    expires_at = expiry_of(body.expires_at, body.expires_in_days, now)
    service = ShareService(session, keys_of(runtime))
    presentation = await service.live_presentation(presentation_id)
    password_hash = await runtime.identity.passwords.hash(body.password) if body.password else None
    actor = access.caller.user.id if access.caller.user else None
    share, _ = await service.create(
        presentation, actor, expires_at=expires_at, password_hash=password_hash
    )
    access.caller.audit(
        "share.created",
        target_type="share",
        target_id=share.id,
        changes={
            "presentation_id": str(presentation_id),
            "expires_at": expires_at.isoformat() if expires_at else None,
            "has_password": password_hash is not None,
        },
    )
    public_url = runtime.settings.presentai.public_url
    return describe(share, service.keys, public_url, ShareCounts(), now)


@router.get("/{presentation_id}/shares", response_model=ShareListOut)
async def list_shares(
    presentation_id: uuid.UUID, access: PresentationReader, session: SessionDep, runtime: RuntimeDep
) -> ShareListOut:
    """Every link of the presentation, newest first, with its status (active, expired or
    revoked), its view counts, and the link itself while it is active."""
    service = ShareService(session, keys_of(runtime))
    await service.live_presentation(presentation_id)
    counts = await service.counts(presentation_id)
    now, public_url = utcnow(), runtime.settings.presentai.public_url
    return ShareListOut(
        items=[
            describe(share, service.keys, public_url, counts.get(share.id, ShareCounts()), now)
            for share in await service.of_presentation(presentation_id)
        ]
    )


@router.delete(
    "/{presentation_id}/shares/{share_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "not_found: no such link on this presentation"}},
)
async def revoke_share(
    presentation_id: uuid.UUID,
    share_id: uuid.UUID,
    access: PresentationEditor,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Revokes the link at once: its next request answers 404. Revoking again is harmless."""
    service = ShareService(session, keys_of(runtime))
    await service.live_presentation(presentation_id)
    share = await service.get(presentation_id, share_id)
    if await service.revoke(share):
        access.caller.audit(
            "share.revoked",
            target_type="share",
            target_id=share.id,
            changes={"presentation_id": str(presentation_id)},
        )
    return Response(status_code=204)


@router.get("/{presentation_id}/analytics", response_model=AnalyticsOut)
async def presentation_analytics(
    presentation_id: uuid.UUID,
    access: PresentationReader,
    session: SessionDep,
    runtime: RuntimeDep,
    date_from: Annotated[
        date | None, Query(alias="from", description="First UTC day (default: 30 days back)")
    ] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last UTC day (today)")] = None,
) -> AnalyticsOut:
    """Views of the presentation's public links: totals, a per-day series, time per slide and
    counts per link. Viewers are counted without personal data; unique viewers are distinct
    per UTC day, summed over the period's days."""
    service = ShareService(session, keys_of(runtime))
    await service.live_presentation(presentation_id)
    now = utcnow()
    last = date_to or day_of(now)
    try:
        first = date_from or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    except OverflowError:  # `to` in the first days of year 1
        first = date.min
    if first > last or (last - first).days >= MAX_PERIOD_DAYS:
        problem = FieldProblem("from", BAD_PERIOD, "period")
        raise ValidationFailed(BAD_PERIOD, problems=[problem])
    slide_count = await service.slide_count(presentation_id)
    return await report(session, presentation_id, first, last, slide_count, now)
