"""`/api/v1/organizations`: create, read and update organizations; list and manage members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from parmenid.core.web import require_json
from parmenid.identity.models import Membership, Organization, Role, User
from parmenid.identity.organizations import InvitationService, OrganizationService
from parmenid.llm.quotas import QuotaLedger
from parmenid.llm.usage import monthly_usage
from parmenid.presentai.authz import OrgAccess, OrgViewer, PresentAIUser, in_organization
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(
    prefix="/organizations", tags=["Organizations"], dependencies=[Depends(require_json)]
)

RoleName = Literal["owner", "admin", "editor", "viewer"]

OrgAdmin = Annotated[OrgAccess, Depends(in_organization(Role.ADMIN, None))]
UsageReader = Annotated[OrgAccess, Depends(in_organization(Role.ADMIN, "usage:read"))]
# Any member may call it; the service decides (a member may leave, admins remove others).
MemberOrSelf = Annotated[OrgAccess, Depends(in_organization(Role.VIEWER, None))]


class OrganizationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=64)


class OrganizationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=64)


class OrganizationOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    plan: str
    is_personal: bool
    created_at: datetime
    role: RoleName | None = Field(description="The caller's role; null for an API key.")

    @classmethod
    def of(cls, organization: Organization, role: Role | None) -> OrganizationOut:
        return cls(
            id=organization.id,
            name=organization.name,
            slug=organization.slug,
            plan=organization.plan,
            is_personal=organization.is_personal,
            created_at=organization.created_at,
            role=role.value if role else None,
        )


class OrganizationList(BaseModel):
    items: list[OrganizationOut]


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: RoleName
    joined_at: datetime

    @classmethod
    def of(cls, membership: Membership, user: User) -> MemberOut:
        return cls(
            user_id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=Role(membership.role).value,
            joined_at=membership.created_at,
        )


class MemberList(BaseModel):
    items: list[MemberOut]


class RoleChange(BaseModel):
    role: RoleName


@router.post(
    "",
    status_code=201,
    response_model=OrganizationOut,
    responses={409: {"description": "conflict: the slug is taken"}},
)
async def create_organization(
    body: OrganizationCreate, principal: PresentAIUser, session: SessionDep
) -> OrganizationOut:
    """Creates an organization; the caller becomes its owner."""
    organization = await OrganizationService(session).create(principal.user, body.name, body.slug)
    principal.caller.audit(
        "organization.created",
        organization_id=organization.id,
        target_type="organization",
        target_id=organization.id,
        changes={"name": organization.name, "slug": organization.slug},
    )
    return OrganizationOut.of(organization, Role.OWNER)


@router.get("", response_model=OrganizationList)
async def list_organizations(principal: PresentAIUser, session: SessionDep) -> OrganizationList:
    """The organizations the caller belongs to, with the caller's role in each."""
    rows = await OrganizationService(session).of_user(principal.user)
    return OrganizationList(items=[OrganizationOut.of(org, role) for org, role in rows])


@router.get("/{organization_id}", response_model=OrganizationOut)
async def get_organization(access: OrgViewer) -> OrganizationOut:
    return OrganizationOut.of(access.organization, access.role)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationOut,
    responses={409: {"description": "conflict: the slug is taken"}},
)
async def update_organization(
    body: OrganizationUpdate, access: OrgAdmin, session: SessionDep
) -> OrganizationOut:
    """Renames the organization or changes its slug (admins and owners)."""
    before = {"name": access.organization.name, "slug": access.organization.slug}
    organization = await OrganizationService(session).update(
        access.organization, name=body.name, slug=body.slug
    )
    after = {"name": organization.name, "slug": organization.slug}
    access.caller.audit(
        "organization.updated",
        target_type="organization",
        target_id=organization.id,
        changes={k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]},
    )
    return OrganizationOut.of(organization, access.role)


@router.get("/{organization_id}/members", response_model=MemberList)
async def list_members(access: OrgViewer, session: SessionDep) -> MemberList:
    rows = await OrganizationService(session).members(access.organization.id)
    return MemberList(items=[MemberOut.of(membership, user) for membership, user in rows])


@router.patch(
    "/{organization_id}/members/{user_id}",
    response_model=MemberOut,
    responses={409: {"description": "conflict: the last owner cannot be demoted"}},
)
async def change_member_role(
    user_id: uuid.UUID, body: RoleChange, access: OrgAdmin, session: SessionDep
) -> MemberOut:
    """Changes a member's role. Only owners grant or take away the owner role."""
    service = OrganizationService(session)
    previous = await service.membership(access.organization.id, user_id)
    membership = await service.change_role(
        access.organization.id, access.member_role, user_id, Role(body.role)
    )
    access.caller.audit(
        "member.role_changed",
        target_type="user",
        target_id=user_id,
        changes={"role": {"from": previous.role if previous else None, "to": membership.role}},
    )
    members = dict((m.user_id, u) for m, u in await service.members(access.organization.id))
    user = members[membership.user_id]
    return MemberOut.of(membership, user)


@router.delete(
    "/{organization_id}/members/{user_id}",
    status_code=204,
    response_class=Response,
    responses={409: {"description": "conflict: the last owner cannot be removed"}},
)
async def remove_member(user_id: uuid.UUID, access: MemberOrSelf, session: SessionDep) -> Response:
    """Removes a member (admins and owners), or lets a member leave."""
    await OrganizationService(session).remove(
        access.organization.id, access.user, access.member_role, user_id
    )
    access.caller.audit(
        "member.left" if user_id == access.user.id else "member.removed",
        target_type="user",
        target_id=user_id,
    )
    return Response(status_code=204)


class DailyUsage(BaseModel):
    date: str
    tokens: int


class UsageOut(BaseModel):
    organization_id: uuid.UUID
    month: str
    plan: str
    limit: int
    used: int
    reserved: int
    remaining: int
    by_day: list[DailyUsage]
    by_source: dict[str, int]


@router.get("/{organization_id}/usage", response_model=UsageOut)
async def organization_usage(access: UsageReader, runtime: RuntimeDep) -> UsageOut:
    """Tokens used this month (UTC) against the plan's limit, by day and by source
    (`generation`, `chat`); `reserved` is held by calls in progress."""
    ledger = QuotaLedger(runtime.db, runtime.settings.llm.plan_token_limits)
    report = await monthly_usage(runtime.db, ledger, access.organization.id)
    return UsageOut(
        organization_id=report.organization_id,
        month=report.month,
        plan=report.plan,
        limit=report.limit,
        used=report.used,
        reserved=report.reserved,
        remaining=report.remaining,
        by_day=[DailyUsage(date=d, tokens=t) for d, t in report.by_day],
        by_source=report.by_source,
    )


class InviteRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: RoleName = "viewer"


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    role: RoleName
    expires_at: datetime
    token: str
    accept_url: str


@router.post(
    "/{organization_id}/members/invite",
    status_code=201,
    response_model=InvitationOut,
    responses={409: {"description": "conflict: already a member"}},
)
async def invite_member(
    body: InviteRequest, access: OrgAdmin, session: SessionDep, runtime: RuntimeDep
) -> InvitationOut:
    """Invites an e-mail address with a role (admins and owners; only owners invite owners).
    The token is e-mailed when SMTP is configured and is always returned here."""
    accept_url = runtime.settings.presentai.public_url.rstrip("/") + "/invitations/accept"
    issued = await InvitationService(session).invite(
        access.organization,
        access.user,
        access.member_role,
        body.email,
        Role(body.role),
        accept_url,
    )
    access.caller.audit(
        "invitation.created",
        target_type="invitation",
        target_id=issued.invitation.id,
        changes={"role": issued.invitation.role},
    )
    return InvitationOut(
        id=issued.invitation.id,
        email=issued.invitation.email,
        role=Role(issued.invitation.role).value,
        expires_at=issued.invitation.expires_at,
        token=issued.token,
        accept_url=f"{accept_url}?token={issued.token}",
    )


class AcceptInvitation(BaseModel):
    token: str = Field(min_length=1, max_length=200)


invitations_router = APIRouter(
    prefix="/invitations", tags=["Organizations"], dependencies=[Depends(require_json)]
)


@invitations_router.post(
    "/accept",
    response_model=OrganizationOut,
    responses={410: {"description": "gone: expired or already used"}},
)
async def accept_invitation(
    body: AcceptInvitation, principal: PresentAIUser, session: SessionDep
) -> OrganizationOut:
    """Joins the organization with the invited role (the invitation's e-mail must be yours)."""
    organization, role = await InvitationService(session).accept(principal.user, body.token)
    principal.caller.audit(
        "invitation.accepted",
        organization_id=organization.id,
        target_type="user",
        target_id=principal.user.id,
        changes={"role": role.value},
    )
    return OrganizationOut.of(organization, role)
