"""The admin panel's API for lead requests (platform administrators only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from parmenid.core.web import require_json
from parmenid.site.deps import SiteAdmin
from parmenid.site.leads.models import PlanRequestStatus, RequestType
from parmenid.site.leads.schemas import PlanRequestDetail, PlanRequestPage, PlanRequestStatusChange
from parmenid.site.leads.service import PlanRequestService
from parmenid.webapp import SessionDep

router = APIRouter(prefix="/admin/plan-requests", tags=["Admin: plan requests"])


@router.get("", response_model=PlanRequestPage, summary="List lead requests")
async def list_plan_requests(
    admin: SiteAdmin,
    session: SessionDep,
    status: PlanRequestStatus | None = None,
    request_type: RequestType | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> PlanRequestPage:
    """Newest first; filter by `status` and `request_type`; page with `limit`/`offset`."""
    rows, total = await PlanRequestService(session).list(
        status=status, request_type=request_type, limit=limit, offset=offset
    )
    return PlanRequestPage(
        items=[PlanRequestDetail.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{request_id}", response_model=PlanRequestDetail, summary="Get a lead request")
async def get_plan_request(
    request_id: uuid.UUID, admin: SiteAdmin, session: SessionDep
) -> PlanRequestDetail:
    return PlanRequestDetail.model_validate(await PlanRequestService(session).get(request_id))


@router.patch(
    "/{request_id}",
    response_model=PlanRequestDetail,
    summary="Change a lead request's status",
    dependencies=[Depends(require_json)],
    responses={
        409: {"description": "INVALID_STATUS_TRANSITION: only new → in_progress → completed"}
    },
)
async def change_plan_request_status(
    request_id: uuid.UUID, body: PlanRequestStatusChange, admin: SiteAdmin, session: SessionDep
) -> PlanRequestDetail:
    lead = await PlanRequestService(session).change_status(
        request_id, PlanRequestStatus(body.status), admin.user
    )
    return PlanRequestDetail.model_validate(lead)
