"""`POST /api/v1/plan-requests/`: the landing page's lead forms."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response

from parmenid.core.web import preferred_language, require_json
from parmenid.site.deps import PlanRequestQuota, plan_request_attempts_limit
from parmenid.site.leads.schemas import PlanRequestCreate, PlanRequestCreated
from parmenid.site.leads.service import Origin, PlanRequestService
from parmenid.webapp import RuntimeDep, SessionDep, ip_of

router = APIRouter(tags=["Plan requests"])


def origin_of(request: Request, chat_session_id: uuid.UUID | None = None) -> Origin:
    """Where a lead submitted with `request` came from."""
    return Origin(
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
        language=preferred_language(request),
        chat_session_id=chat_session_id,
    )


@router.post(
    "/plan-requests/",
    status_code=201,
    response_model=PlanRequestCreated,
    summary="Create a lead (demo, contact sales, plan upgrade)",
    dependencies=[Depends(require_json), plan_request_attempts_limit],
    responses={
        422: {"description": "VALIDATION_ERROR: no contact, or no plan for plan_upgrade"},
        429: {"description": "RATE_LIMIT: more than 5 accepted requests an hour from one IP"},
    },
)
async def create_plan_request(
    body: PlanRequestCreate,
    request: Request,
    response: Response,
    quota: PlanRequestQuota,
    session: SessionDep,
    runtime: RuntimeDep,
) -> PlanRequestCreated:
    """Stores the request (status `new`) and alerts the admins in Telegram.

    The alert goes through a durable outbox: a Telegram outage never loses, delays or fails
    the request.
    """
    lead = await PlanRequestService(session).create(
        body,
        origin_of(request),
        runtime.settings.telegram,
    )
    await quota.spend(response)
    return PlanRequestCreated.model_validate(lead, from_attributes=True)
