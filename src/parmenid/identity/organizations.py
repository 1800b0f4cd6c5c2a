"""Organizations and their members.

Rules that are not obvious from the code:
* Only owners grant the owner role, and an admin cannot change or remove an owner.
* An organization always keeps at least one owner: the last one can be neither demoted nor
  removed (409), whoever asks.
* Any member may leave an organization (remove themselves), within the last-owner rule.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import (
    Conflict,
    Gone,
    InsufficientRole,
    Text,
    ValidationFailed,
    not_found,
)
from parmenid.core.jobs import enqueue
from parmenid.identity.models import Invitation, Membership, Organization, Role, User
from parmenid.identity.tokens import opaque_token, token_digest

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
SLUG_RULE = Text(
    "A slug is 3–64 characters: lower-case letters, digits and dashes, not at either end.",
    "Slug — 3–64 символа: строчные латинские буквы, цифры и дефисы (не в начале и не в конце).",
)
LAST_OWNER = Text(
    "The organization must keep at least one owner.",
    "У организации должен остаться хотя бы один владелец.",
)


def requires(required: Role, current: Role) -> InsufficientRole:
    """The contract's 403: `This action requires editor role or higher`, with both roles."""
    return InsufficientRole(
        Text(
            f"This action requires {required.value} role or higher",
            f"Для этого действия нужна роль {required.value} или выше",
        ),
        extra={"required": required.value, "current": current.value},
    )


def slug_taken(slug: str) -> Conflict:
    return Conflict(
        Text(f"The slug {slug!r} is already taken.", f"Slug {slug!r} уже занят."),
        extra={"field": "slug"},
    )


def slugify(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "org"
    return f"{base}-{secrets.token_hex(3)}" if len(base) < 3 else base


class OrganizationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, owner: User, name: str, slug: str | None) -> Organization:
        """A new organization with `owner` as its owner; a slug is derived from the name."""
        if slug is not None and not SLUG.match(slug):
            raise ValidationFailed(SLUG_RULE)
        wanted = slug or slugify(name)
        if await self._slug_in_use(wanted):
            if slug is not None:
                raise slug_taken(slug)
            wanted = f"{wanted[:56]}-{secrets.token_hex(3)}"
        organization = Organization(name=name, slug=wanted)
        self.session.add(organization)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent create took the slug
            raise slug_taken(wanted) from exc
        self.session.add(
            Membership(organization_id=organization.id, user_id=owner.id, role=Role.OWNER.value)
        )
        await self.session.flush()
        return organization

    async def of_user(self, user: User) -> list[tuple[Organization, Role]]:
        rows = await self.session.execute(
            select(Organization, Membership.role)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id)
            .order_by(Organization.created_at)
        )
        return [(organization, Role(role)) for organization, role in rows.all()]

    async def membership(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        found: Membership | None = await self.session.scalar(
            select(Membership).where(
                Membership.organization_id == organization_id, Membership.user_id == user_id
            )
        )
        return found

    async def update(
        self, organization: Organization, *, name: str | None, slug: str | None
    ) -> Organization:
        if slug is not None and slug != organization.slug:
            if not SLUG.match(slug):
                raise ValidationFailed(SLUG_RULE)
            if await self._slug_in_use(slug):
                raise slug_taken(slug)
            organization.slug = slug
        if name is not None:
            organization.name = name
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise slug_taken(slug or organization.slug) from exc
        return organization

    async def members(self, organization_id: uuid.UUID) -> list[tuple[Membership, User]]:
        rows = await self.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization_id)
            .order_by(Membership.created_at)
        )
        return [(membership, user) for membership, user in rows.all()]

    async def change_role(
        self, organization_id: uuid.UUID, actor_role: Role, user_id: uuid.UUID, role: Role
    ) -> Membership:
        target = await self._member(organization_id, user_id)
        current = Role(target.role)
        if (role is Role.OWNER or current is Role.OWNER) and actor_role is not Role.OWNER:
            raise requires(Role.OWNER, actor_role)
        if current is Role.OWNER and role is not Role.OWNER:
            await self._keep_an_owner(organization_id)
        target.role = role.value
        await self.session.flush()
        return target

    async def remove(
        self,
        organization_id: uuid.UUID,
        actor: User,
        actor_role: Role,
        user_id: uuid.UUID,
    ) -> None:
        target = await self._member(organization_id, user_id)
        current = Role(target.role)
        if user_id != actor.id:
            if not actor_role.at_least(Role.ADMIN):
                raise requires(Role.ADMIN, actor_role)
            if current is Role.OWNER and actor_role is not Role.OWNER:
                raise requires(Role.OWNER, actor_role)
        if current is Role.OWNER:
            await self._keep_an_owner(organization_id)
        await self.session.delete(target)
        await self.session.flush()

    async def _member(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
        target = await self.membership(organization_id, user_id)
        if target is None:
            raise not_found("Member", "Участник")
        return target

    async def _keep_an_owner(self, organization_id: uuid.UUID) -> None:
        """Refuse when the target is the only owner. The owners' rows are locked (PostgreSQL),
        so two owners demoting each other at once cannot leave none."""
        owners = select(Membership.id).where(
            Membership.organization_id == organization_id,
            Membership.role == Role.OWNER.value,
        )
        bind = self.session.get_bind()
        if bind.dialect.name != "sqlite":
            owners = owners.with_for_update()
        if len((await self.session.scalars(owners)).all()) <= 1:
            raise Conflict(LAST_OWNER)

    async def _slug_in_use(self, slug: str) -> bool:
        found = await self.session.scalar(select(Organization.id).where(Organization.slug == slug))
        return found is not None


INVITATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str


class InvitationService:
    """Invitations by e-mail: the token goes out by e-mail (through the outbox) and is also
    returned to the inviter, who may pass it on another way. Accepting needs a signed-in user
    with the invited address; an invitation works once and expires after seven days."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def invite(
        self,
        organization: Organization,
        inviter: User,
        inviter_role: Role,
        email: str,
        role: Role,
        accept_url: str,
    ) -> IssuedInvitation:
        if role is Role.OWNER and inviter_role is not Role.OWNER:
            raise requires(Role.OWNER, inviter_role)
        email = email.strip().lower()
        already = await self.session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization.id, User.email == email)
        )
        if already is not None:
            raise Conflict(
                Text(f"{email} is already a member.", f"{email} уже состоит в организации."),
                extra={"field": "email"},
            )
        token = opaque_token("inv_")
        invitation = Invitation(
            organization_id=organization.id,
            email=email,
            role=role.value,
            token_hash=token_digest(token),
            invited_by_id=inviter.id,
            expires_at=utcnow() + INVITATION_TTL,
        )
        self.session.add(invitation)
        await self.session.flush()
        enqueue(
            self.session,
            "notify.email",
            {
                "to": email,
                "subject": f"Приглашение в {organization.name} / Invitation to {organization.name}",
                "text": (
                    f"{inviter.full_name or inviter.email} приглашает вас в «{organization.name}» "
                    f"с ролью {role.value}.\n{inviter.full_name or inviter.email} invites you to "
                    f"{organization.name} as {role.value}.\n\n{accept_url}?token={token}\n"
                ),
            },
            subject_id=inviter.id,
        )
        return IssuedInvitation(invitation, token)

    async def accept(self, user: User, token: str) -> tuple[Organization, Role]:
        invitation = await self.session.scalar(
            select(Invitation).where(Invitation.token_hash == token_digest(token))
        )
        if invitation is None:
            raise not_found("Invitation", "Приглашение")
        if invitation.accepted_at is not None or invitation.expires_at <= utcnow():
            raise Gone(
                Text(
                    "This invitation has expired or was already used.",
                    "Приглашение истекло или уже использовано.",
                )
            )
        if invitation.email != user.email.lower():
            raise ValidationFailed(
                Text(
                    "This invitation was sent to another e-mail address.",
                    "Это приглашение отправлено на другой адрес.",
                )
            )
        organization = await self.session.get(Organization, invitation.organization_id)
        if organization is None:
            raise not_found("Organization", "Организация")
        role = Role(invitation.role)
        existing = await OrganizationService(self.session).membership(organization.id, user.id)
        if existing is None:
            self.session.add(
                Membership(organization_id=organization.id, user_id=user.id, role=role.value)
            )
        invitation.accepted_at = utcnow()
        invitation.accepted_by_id = user.id
        await self.session.flush()
        return organization, Role(existing.role) if existing else role
