"""Who may call a PresentAI endpoint: one mechanism, as typed dependencies.

A caller is a signed-in user (JWT). For a route under `/organizations/{organization_id}`, the
caller's membership gives the role. Rules: an organization the caller does not belong to answers
404 (its existence is not revealed); a role below the endpoint's minimum answers 403
`insufficient_role` with `required` and `current`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from parmenid.core.errors import not_found
from parmenid.identity.auth import signed_in
from parmenid.identity.models import Organization, Role
from parmenid.identity.organizations import OrganizationService, requires
from parmenid.identity.service import Principal
from parmenid.webapp import SessionDep

PresentAIUser = Annotated[Principal, Depends(signed_in(lambda runtime: runtime.presentai_audience))]


@dataclass(frozen=True)
class OrgAccess:
    principal: Principal
    organization: Organization
    role: Role


def org_role(minimum: Role) -> Callable[..., Awaitable[OrgAccess]]:
    """A dependency: the caller's access to `{organization_id}`, at least `minimum`."""

    async def access(
        organization_id: uuid.UUID, principal: PresentAIUser, session: SessionDep
    ) -> OrgAccess:
        membership = await OrganizationService(session).membership(
            organization_id, principal.user.id
        )
        organization = await session.get(Organization, organization_id) if membership else None
        if membership is None or organization is None:
            raise not_found("Organization", "Организация")
        role = Role(membership.role)
        if not role.at_least(minimum):
            raise requires(minimum, role)
        return OrgAccess(principal, organization, role)

    return access


OrgViewer = Annotated[OrgAccess, Depends(org_role(Role.VIEWER))]
OrgEditor = Annotated[OrgAccess, Depends(org_role(Role.EDITOR))]
OrgAdmin = Annotated[OrgAccess, Depends(org_role(Role.ADMIN))]
OrgOwner = Annotated[OrgAccess, Depends(org_role(Role.OWNER))]
