"""Who may call a PresentAI endpoint: one mechanism, as typed dependencies.

A caller is a signed-in user (`Authorization: Bearer <jwt>`) or an API key (`X-API-Key`).
Every route declares one permission, and a test fails for a route that declares none:

* `Public`: anyone.
* `PresentAIUser`: a signed-in user acting on their own things. API keys are refused.
* `in_organization(role, scope)` / `in_body_organization` / `on_resource`: a member of the
  organization with at least `role`, or a key of that organization holding `scope` (`None`:
  keys may not do this at all).

Answers: no or bad credentials 401; another organization's thing 404 (its existence is not
revealed); a role too low 403 `insufficient_role` with `required` and `current`; a key without
the scope 403 `insufficient_scope` with `required_scope`.

The caller also carries the audit trail of the request: handlers note what they changed, and
the notes are written in the request's transaction once the handler has succeeded. A mutation
whose handler noted nothing is still recorded, under the route's name.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.errors import (
    BadRequest,
    FieldProblem,
    InsufficientScope,
    NotFound,
    Text,
    ValidationFailed,
    not_found,
    not_found_ru,
)
from parmenid.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from parmenid.core.idempotency import claim, fingerprint
from parmenid.core.observability import request_id_of
from parmenid.identity.api_keys import KEY_PREFIX, KeyPrincipal, authenticate_key
from parmenid.identity.audit import Actor, AuditLog
from parmenid.identity.auth import bearer_token
from parmenid.identity.models import Organization, Role, User
from parmenid.identity.organizations import OrganizationService, requires
from parmenid.identity.service import IdentityService, Principal
from parmenid.webapp import SessionDep, ip_of, runtime_of

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

KEY_IN_URL = Text(
    "API keys are accepted only in the X-API-Key header: a key in a URL ends up in logs and "
    "browser history. Revoke this key and send the new one in the header.",
    "API-ключ принимается только в заголовке X-API-Key: ключ в URL попадает в журналы и историю "
    "браузера. Отзовите этот ключ и передавайте новый в заголовке.",
)
TWO_CREDENTIALS = Text(
    "Send either a bearer token or an X-API-Key, not both.",
    "Передайте либо bearer-токен, либо X-API-Key, но не оба.",
)
KEYS_NOT_ACCEPTED = Text(
    "API keys cannot be used for this endpoint; sign in as a user.",
    "Этот метод недоступен по API-ключу; войдите как пользователь.",
)


def missing_scope(scope: str) -> Text:
    return Text(f"This API key lacks the {scope} scope.", f"У API-ключа нет scope {scope}.")


@dataclass(frozen=True)
class Permission:
    """What a route requires; the route matrix test reads it from the dependency."""

    kind: Literal["public", "user", "organization"]
    role: Role | None = None
    scope: str | None = None
    organization_from: str = "path"  # path | body | the resource's path parameter


def _declare(dependency: Callable[..., Any], permission: Permission) -> None:
    dependency.permission = permission  # type: ignore[attr-defined]


def permission_of(dependency: Callable[..., Any]) -> Permission | None:
    found = getattr(dependency, "permission", None)
    return found if isinstance(found, Permission) else None


@dataclass
class AuditNote:
    action: str
    organization_id: uuid.UUID | None
    target_type: str | None
    target_id: str | None
    changes: dict[str, Any]


@dataclass
class Caller:
    """The authenticated caller of one request: a user or an API key."""

    user: User | None
    session_id: uuid.UUID | None
    key: KeyPrincipal | None
    ip: str | None
    user_agent: str | None
    request_id: str
    organization_id: uuid.UUID | None = None  # set once an organization is authorized
    notes: list[AuditNote] = field(default_factory=list)
    audited_by_handler: bool = False  # the handler wrote its own entries (account erasure)

    @property
    def actor(self) -> Actor:
        if self.key is not None:
            return Actor.key(self.key.id)
        assert self.user is not None
        return Actor.user(self.user.id)

    @property
    def principal_key(self) -> str:
        """Stable across token refreshes: idempotency keys are scoped by it."""
        return f"key:{self.key.id}" if self.key else f"user:{self.user.id if self.user else ''}"

    def audit(
        self,
        action: str,
        *,
        target_type: str | None = None,
        target_id: object = None,
        changes: dict[str, Any] | None = None,
        organization_id: uuid.UUID | None = None,
    ) -> None:
        """Note a change; it is written only if the request succeeds."""
        self.notes.append(
            AuditNote(
                action,
                organization_id or self.organization_id,
                target_type,
                None if target_id is None else str(target_id),
                changes or {},
            )
        )

    async def write_audit(self, session: AsyncSession, request: Request) -> None:
        if self.audited_by_handler:
            return
        notes = self.notes or [_fallback_note(self, request)]
        log = AuditLog(session)
        for note in notes:
            await log.record(
                actor=self.actor,
                action=note.action,
                organization_id=note.organization_id,
                target_type=note.target_type,
                target_id=note.target_id,
                changes=note.changes,
                ip=self.ip,
                user_agent=self.user_agent,
                request_id=self.request_id,
            )
        self.notes = []


def _fallback_note(caller: Caller, request: Request) -> AuditNote:
    route = request.scope.get("route")
    params = {k: str(v) for k, v in request.path_params.items()}
    last = list(params.items())[-1] if params else (None, None)
    return AuditNote(
        action=f"api.{getattr(route, 'name', request.url.path)}",
        organization_id=caller.organization_id,
        target_type=last[0].removesuffix("_id") if last[0] else None,
        target_id=last[1],
        changes={"method": request.method},
    )


def _refuse_key_in_query(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        if value.startswith(KEY_PREFIX) or name.lower().replace("-", "_") in {"api_key", "apikey"}:
            raise BadRequest(KEY_IN_URL)


_bearer = HTTPBearer(auto_error=False, description="A JWT access token (15 minutes).")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (pai_...).")


async def current_caller(
    request: Request,
    session: SessionDep,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    presented_key: Annotated[str | None, Depends(_api_key)],
) -> AsyncIterator[Caller]:
    """Authenticates the request; after a successful mutation, writes its audit entries."""
    runtime = runtime_of(request)
    _refuse_key_in_query(request)
    ip, user_agent = ip_of(request), request.headers.get("user-agent")
    if presented_key is not None:
        if "authorization" in request.headers:
            raise BadRequest(TWO_CREDENTIALS)
        key = await authenticate_key(runtime.db, runtime.api_key_cache, presented_key, ip)
        caller = Caller(None, None, key, ip, user_agent, request_id_of(request))
    else:
        principal = await IdentityService(session, runtime.identity).authenticate(
            bearer_token(request), runtime.presentai_audience
        )
        caller = Caller(
            principal.user, principal.session_id, None, ip, user_agent, request_id_of(request)
        )
    request.state.caller = caller
    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    if request.method == "POST" and idempotency_key is not None:
        print_ = fingerprint(
            request.method, request.url.path, request.url.query, await request.body()
        )
        await claim(
            runtime.idempotency,
            request.scope["state"],
            caller.principal_key,
            idempotency_key,
            print_,
        )
    yield caller
    if request.method in MUTATING:
        await caller.write_audit(session, request)


CallerDep = Annotated[Caller, Depends(current_caller, scope="function")]


@dataclass(frozen=True)
class SignedInUser:
    """A user (never a key) acting on their own things."""

    caller: Caller
    user: User
    session_id: uuid.UUID


async def signed_in_user(caller: CallerDep) -> SignedInUser:
    if caller.user is None or caller.session_id is None:
        raise InsufficientScope(KEYS_NOT_ACCEPTED, extra={"required_scope": None})
    return SignedInUser(caller, caller.user, caller.session_id)


_declare(signed_in_user, Permission("user"))
PresentAIUser = Annotated[SignedInUser, Depends(signed_in_user)]


async def session_principal(user: PresentAIUser) -> Principal:
    """The signed-in user as the shared session routes (logout) expect it."""
    return Principal(user.user, user.session_id)


_declare(session_principal, Permission("user"))


async def public() -> None:
    """Marks a route that anyone may call."""


_declare(public, Permission("public"))
Public = Depends(public)


@dataclass(frozen=True)
class OrgAccess:
    caller: Caller
    organization: Organization
    role: Role | None  # None for an API key

    @property
    def user(self) -> User:
        """The acting user; only for routes that keys cannot reach (scope `None`)."""
        assert self.caller.user is not None
        return self.caller.user

    @property
    def member_role(self) -> Role:
        """The acting member's role; only for routes that keys cannot reach."""
        assert self.role is not None
        return self.role


async def authorize(
    session: AsyncSession,
    caller: Caller,
    organization_id: uuid.UUID,
    minimum: Role,
    scope: str | None,
) -> OrgAccess:
    """The caller's access to an organization, or the error the rules call for."""
    if caller.key is not None:
        if caller.key.organization_id != organization_id:
            raise not_found("Organization", "Организация")
        if scope is None:
            raise InsufficientScope(KEYS_NOT_ACCEPTED, extra={"required_scope": None})
        if scope not in caller.key.scopes:
            raise InsufficientScope(missing_scope(scope), extra={"required_scope": scope})
        organization = await session.get(Organization, organization_id)
        if organization is None:
            raise not_found("Organization", "Организация")
        caller.organization_id = organization_id
        return OrgAccess(caller, organization, None)
    assert caller.user is not None
    membership = await OrganizationService(session).membership(organization_id, caller.user.id)
    organization = await session.get(Organization, organization_id) if membership else None
    if membership is None or organization is None:
        raise not_found("Organization", "Организация")
    role = Role(membership.role)
    if not role.at_least(minimum):
        raise requires(minimum, role)
    caller.organization_id = organization_id
    return OrgAccess(caller, organization, role)


def in_organization(minimum: Role, scope: str | None) -> Callable[..., Awaitable[OrgAccess]]:
    """Access to the organization named by the `{organization_id}` path parameter."""

    async def access(
        organization_id: uuid.UUID, caller: CallerDep, session: SessionDep
    ) -> OrgAccess:
        return await authorize(session, caller, organization_id, minimum, scope)

    _declare(access, Permission("organization", minimum, scope))
    return access


def in_body_organization(minimum: Role, scope: str | None) -> Callable[..., Awaitable[OrgAccess]]:
    """Access to the organization named by the JSON body's `organization_id`."""

    async def access(request: Request, caller: CallerDep, session: SessionDep) -> OrgAccess:
        try:
            body = json.loads(await request.body() or b"{}")
            organization_id = uuid.UUID(str(body["organization_id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed(
                Text("organization_id is required.", "Укажите organization_id."),
                problems=[
                    FieldProblem(
                        "organization_id",
                        Text("A valid organization id is required.", "Нужен id организации."),
                        "missing",
                    )
                ],
            ) from exc
        return await authorize(session, caller, organization_id, minimum, scope)

    _declare(access, Permission("organization", minimum, scope, organization_from="body"))
    return access


NEEDS_ORGANIZATION = Text(
    "Say which organization: pass organization_id.", "Укажите организацию: organization_id."
)


def in_query_organization(minimum: Role, scope: str | None) -> Callable[..., Awaitable[OrgAccess]]:
    """Access to the organization named by the `organization_id` query parameter; an API key
    may leave it out (it has one organization)."""

    async def access(
        caller: CallerDep,
        session: SessionDep,
        organization_id: Annotated[uuid.UUID | None, Query()] = None,
    ) -> OrgAccess:
        if organization_id is None and caller.key is not None:
            organization_id = caller.key.organization_id
        if organization_id is None:
            raise ValidationFailed(
                NEEDS_ORGANIZATION,
                problems=[FieldProblem("organization_id", NEEDS_ORGANIZATION, "missing")],
            )
        return await authorize(session, caller, organization_id, minimum, scope)

    _declare(access, Permission("organization", minimum, scope, organization_from="query"))
    return access


Locator = Callable[[AsyncSession, uuid.UUID], Awaitable[uuid.UUID | None]]


def owned_by(model: Any) -> Locator:
    """A locator for rows of `model` (a table with `id` and `organization_id`)."""

    async def locate(session: AsyncSession, item_id: uuid.UUID) -> uuid.UUID | None:
        found: uuid.UUID | None = await session.scalar(
            select(model.organization_id).where(model.id == item_id)
        )
        return found

    return locate


def on_resource(
    parameter: str, locate: Locator, what: Text, minimum: Role, scope: str | None
) -> Callable[..., Awaitable[OrgAccess]]:
    """Access to the organization owning the thing named by the path parameter `parameter`.

    `locate` gives that organization's id (None when the thing does not exist); a thing of an
    organization the caller cannot see answers the same 404 as one that does not exist.
    """

    async def access(**kwargs: Any) -> OrgAccess:
        session: AsyncSession = kwargs["session"]
        caller: Caller = kwargs["caller"]
        organization_id = await locate(session, kwargs[parameter])
        if organization_id is None:
            raise not_found_text(what)
        try:
            return await authorize(session, caller, organization_id, minimum, scope)
        except NotFound as exc:
            raise not_found_text(what) from exc

    access.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, annotation=uuid.UUID),
            inspect.Parameter("caller", inspect.Parameter.KEYWORD_ONLY, annotation=CallerDep),
            inspect.Parameter("session", inspect.Parameter.KEYWORD_ONLY, annotation=SessionDep),
        ]
    )
    _declare(access, Permission("organization", minimum, scope, organization_from=parameter))
    return access


def not_found_text(what: Text) -> NotFound:
    return NotFound(Text(f"{what.en} not found", f"{what.ru} {not_found_ru(what.ru)}"))


OrgViewer = Annotated[OrgAccess, Depends(in_organization(Role.VIEWER, "organizations:read"))]
