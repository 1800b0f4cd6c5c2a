"""GDPR: erasing a person, and everything we hold about them as one archive.

Erasure rules (`DELETE /users/me`):
* An organization where the person is the only owner and other members remain is not deleted
  behind their backs: erasure is refused (409) with the list, so ownership can be handed over.
* An organization where the person is the only member is deleted with its data (sources, their
  files and index entries are purged by a job after commit).
* The user row is deleted: memberships, sessions, refresh tokens, e-mail verifications, the
  audit-sealing key and prepared files go with it (foreign keys cascade). Keys the person made
  are revoked first; invitations addressed to them, pending ones they sent, and e-mails queued
  or sent to them (job payloads) are deleted.
* The audit log keeps its rows (it is append-only) but loses the key that sealed the person's
  addresses, and it names the person by an id that now points nowhere.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import Base, utcnow
from parmenid.core.downloads import PreparedFile
from parmenid.core.errors import Conflict, Text
from parmenid.core.jobs import Job, enqueue
from parmenid.identity.api_keys import ApiKey, ApiKeyCache, ApiKeyService
from parmenid.identity.audit import Actor, AuditLog
from parmenid.identity.models import (
    AuthSession,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from parmenid.knowledge.models import SourceDocument

PURGE_JOB = "privacy.purge_organization"


@dataclass
class Erasure:
    organizations_deleted: list[uuid.UUID] = field(default_factory=list)
    sessions_ended: int = 0
    api_keys_revoked: int = 0


def _blocked(organizations: list[tuple[uuid.UUID, str]]) -> Conflict:
    names = ", ".join(name for _, name in organizations)
    return Conflict(
        Text(
            f"You are the only owner of {names}, which other people use. Make one of them an "
            "owner, or remove them, before deleting your account.",
            f"Вы единственный владелец: {names}, а там есть другие участники. Назначьте "
            "владельцем кого-то из них или удалите их, затем удалите аккаунт.",
        ),
        extra={"organizations": [{"id": str(i), "name": n} for i, n in organizations]},
    )


async def _sole_owned(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Organization, int]]:
    """Organizations where `user_id` is the only owner, with their member counts."""
    owned = select(Membership.organization_id).where(
        Membership.user_id == user_id, Membership.role == Role.OWNER.value
    )
    owners = (
        select(Membership.organization_id, func.count().label("owners"))
        .where(Membership.role == Role.OWNER.value, Membership.organization_id.in_(owned))
        .group_by(Membership.organization_id)
        .subquery()
    )
    members = (
        select(Membership.organization_id, func.count().label("members"))
        .group_by(Membership.organization_id)
        .subquery()
    )
    rows = await session.execute(
        select(Organization, members.c.members)
        .join(owners, owners.c.organization_id == Organization.id)
        .join(members, members.c.organization_id == Organization.id)
        .where(owners.c.owners == 1)
        .order_by(Organization.created_at)
    )
    return [(organization, int(count)) for organization, count in rows.all()]


async def erase_user(session: AsyncSession, user: User, cache: ApiKeyCache | None) -> Erasure:
    """Erase `user` as the module describes, or raise 409 and change nothing."""
    sole = await _sole_owned(session, user.id)
    shared = [(org.id, org.name) for org, members in sole if members > 1]
    if shared:
        raise _blocked(shared)
    erasure = Erasure()
    erasure.api_keys_revoked = len(await ApiKeyService(session, cache).revoke_created_by(user.id))
    erasure.sessions_ended = int(
        await session.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user.id)
        )
        or 0
    )
    for organization, _ in sole:
        await _delete_organization(session, organization)
        erasure.organizations_deleted.append(organization.id)
    await session.execute(
        delete(Invitation).where(
            (Invitation.email == user.email)
            | ((Invitation.invited_by_id == user.id) & Invitation.accepted_at.is_(None))
        )
    )
    # Jobs about the person, and mail to them (sent or not), hold their data in the payload.
    await session.execute(
        delete(Job).where(
            (Job.subject_id == user.id)
            | ((Job.name == "notify.email") & (Job.payload["to"].as_string() == user.email))
        )
    )
    files = await session.scalars(
        select(PreparedFile.storage_key).where(
            PreparedFile.requested_by_id == user.id, PreparedFile.storage_key.is_not(None)
        )
    )
    stale = [key for key in files.all() if key]
    log = AuditLog(session)
    await log.record(
        actor=Actor.user(user.id),
        action="user.deleted",
        target_type="user",
        target_id=str(user.id),
        changes={"organizations_deleted": [str(i) for i in erasure.organizations_deleted]},
    )
    await log.forget_user(user.id)
    await session.execute(delete(User).where(User.id == user.id))
    if stale:
        enqueue(session, PURGE_JOB, {"organization_id": None, "storage_keys": stale})
    return erasure


@cache
def _file_columns() -> list[tuple[Table, list[Column[Any]]]]:
    import parmenid.models  # noqa: F401  (every table, so that every file column is known)

    found: list[tuple[Table, list[Column[Any]]]] = []
    for table in Base.metadata.tables.values():
        columns = [c for c in table.columns if c.name.endswith("storage_key")]
        if columns and "organization_id" in table.columns:
            found.append((table, columns))
    return found


async def organization_files(session: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    """The storage keys of every file an organization owns: every `*storage_key` column of every
    table with an `organization_id` (source documents, brand-kit logos and templates, exports,
    prepared files, ...), read from the schema so that a new kind of file is never left
    behind."""
    keys: list[str] = []
    for table, columns in _file_columns():
        rows = await session.execute(
            select(*columns).where(table.c.organization_id == organization_id)
        )
        keys.extend(str(value) for row in rows.all() for value in row if value)
    return sorted(set(keys))


async def _delete_organization(session: AsyncSession, organization: Organization) -> None:
    """Delete an organization and its rows; files and index entries go in a job after commit."""
    storage_keys = await organization_files(session, organization.id)
    await session.execute(
        delete(SourceDocument).where(SourceDocument.organization_id == organization.id)
    )
    # Members, keys, invitations and prepared files go by cascade.
    await session.execute(delete(Organization).where(Organization.id == organization.id))
    enqueue(
        session,
        PURGE_JOB,
        {"organization_id": str(organization.id), "storage_keys": storage_keys},
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def personal_data_archive(session: AsyncSession, user: User) -> bytes:
    """A ZIP of everything personal about `user`: one JSON file per kind, and a README."""
    memberships = await session.execute(
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user.id)
    )
    sessions = await session.scalars(
        select(AuthSession).where(AuthSession.user_id == user.id).order_by(AuthSession.created_at)
    )
    keys = await session.scalars(select(ApiKey).where(ApiKey.created_by_id == user.id))
    invitations = await session.scalars(
        select(Invitation).where(
            (Invitation.invited_by_id == user.id) | (Invitation.email == user.email)
        )
    )
    documents = await session.scalars(
        select(SourceDocument).where(SourceDocument.created_by_id == user.id)
    )
    audit = await AuditLog(session).about_user(user.id)
    parts: dict[str, Any] = {
        "profile.json": {
            "id": str(user.id),
            "email": user.email,
            "full_name": user.full_name,
            "status": user.status,
            "is_email_verified": user.is_email_verified,
            "created_at": _iso(user.created_at),
            "email_verified_at": _iso(user.email_verified_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "memberships.json": [
            {
                "organization_id": str(org.id),
                "organization_name": org.name,
                "role": membership.role,
                "joined_at": _iso(membership.created_at),
            }
            for membership, org in memberships.all()
        ],
        "sessions.json": [
            {
                "id": str(s.id),
                "app": s.audience,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "created_at": _iso(s.created_at),
                "last_used_at": _iso(s.last_used_at),
                "revoked_at": _iso(s.revoked_at),
            }
            for s in sessions.all()
        ],
        "api_keys.json": [
            {
                "id": str(k.id),
                "organization_id": str(k.organization_id),
                "name": k.name,
                "prefix": k.prefix,
                "scopes": k.granted,
                "created_at": _iso(k.created_at),
                "last_used_at": _iso(k.last_used_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k in keys.all()
        ],
        "invitations.json": [
            {
                "organization_id": str(i.organization_id),
                "email": i.email,
                "role": i.role,
                "sent_by_you": i.invited_by_id == user.id,
                "created_at": _iso(i.created_at),
                "accepted_at": _iso(i.accepted_at),
            }
            for i in invitations.all()
        ],
        "content/sources.json": [
            {
                "id": str(d.id),
                "organization_id": str(d.organization_id),
                "filename": d.filename,
                "title": d.title,
                "source_url": d.source_url,
                "size_bytes": d.size_bytes,
                "created_at": _iso(d.created_at),
            }
            for d in documents.all()
        ],
        "audit_log.json": [
            {
                "occurred_at": _iso(r.occurred_at),
                "organization_id": str(r.organization_id) if r.organization_id else None,
                "actor": {"type": r.actor_type, "id": str(r.actor_id) if r.actor_id else None},
                "action": r.action,
                "target": {"type": r.target_type, "id": r.target_id},
                "changes": r.changes,
                "ip": r.ip,
                "user_agent": r.user_agent,
            }
            for r in audit
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            "Your personal data held by PresentAI, exported "
            f"{utcnow().strftime('%Y-%m-%d %H:%M UTC')}.\n"
            "profile.json: your account; memberships.json: your organizations and roles;\n"
            "sessions.json: your sign-ins; api_keys.json: keys you created (never the secrets);\n"
            "invitations.json: invitations you sent or received; content/: what you uploaded;\n"
            "audit_log.json: recorded actions by you or about you.\n",
        )
        for name, value in parts.items():
            archive.writestr(name, json.dumps(value, ensure_ascii=False, indent=2))
    return buffer.getvalue()
