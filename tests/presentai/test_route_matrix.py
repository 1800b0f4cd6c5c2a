"""Every PresentAI route × caller × organization: refused exactly as the rules say, and nothing
changes when refused.

Generated from the app's routes and the permission each declares (see
`parmenid.presentai.authz`), so a new route is covered without editing this file; a route that
declares no permission, or has a path parameter this file cannot fill, fails the test.

Callers: no credentials; owner, admin, editor and viewer of organization A; an API key of A
with the route's scope, and one without it. Organizations: A (own) and B (other). Expected:
* no credentials: 401 `unauthorized`;
* another organization's thing (B), for every member of A and every key of A: 404 `not_found`;
* a role below the route's minimum: 403 `insufficient_role` with `required` and `current`;
* a key without the scope (or on a route that keys may not use): 403 `insufficient_scope`.
Allowed reads are also made, and must succeed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parmenid.core.db import Base
from parmenid.core.downloads import PreparedFile
from parmenid.identity.api_keys import SCOPES
from parmenid.identity.models import Membership, Role, User
from parmenid.knowledge.models import SourceDocument
from parmenid.presentai.app import create_app
from parmenid.presentai.authz import Permission, permission_of
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.exports.models import ExportJob
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.projects.models import Project
from parmenid.presentai.shares.models import Share
from parmenid.presentai.slides.models import Slide
from parmenid.presentai.slides.versions import Author, write_slide
from parmenid.runtime import Runtime
from tests.helpers import bearer
from tests.routes import ApiRoute, api_routes, walk

INFRASTRUCTURE = {"/docs", "/redoc", "/metrics", "/openapi.json"}
ROLES = (Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER)
# Columns a refused request may touch: a key's last use is recorded before authorization.
VOLATILE = {"last_used_at", "last_used_ip", "known_ips"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit": {"enabled": False}}  # the world signs in a dozen people


def permission(route: ApiRoute) -> Permission:
    found = {
        p for d in walk(route.dependant) if d.call is not None and (p := permission_of(d.call))
    }
    assert len(found) == 1, f"{sorted(route.methods)} {route.path} declares {found or 'nothing'}"
    return found.pop()


def test_every_route_declares_exactly_one_permission() -> None:
    for route in api_routes(create_app()):
        if route.path not in INFRASTRUCTURE:
            permission(route)


@dataclass
class World:
    own: dict[str, str]
    other: dict[str, str]
    users: dict[Role, dict[str, str]]
    key_of_other: str
    keys_without: dict[str | None, str]
    key_with_all: str


async def _member(runtime: Runtime, org_id: str, email: str, role: Role) -> str:
    async with runtime.db.session() as session:
        user = await session.scalar(select(User).where(User.email == email))
        assert user is not None
        session.add(Membership(organization_id=uuid.UUID(org_id), user_id=user.id, role=role))
    return str(user.id)


async def _key(
    client: httpx.AsyncClient, owner: dict[str, str], org: str, scopes: list[str]
) -> Any:
    created = await client.post(
        "/api/v1/api-keys",
        json={"organization_id": org, "name": "matrix", "scopes": scopes},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    return created.json()


async def _prepared_file(runtime: Runtime, org: str) -> str:
    async with runtime.db.session() as session:
        prepared = PreparedFile(
            kind="audit_log",
            organization_id=uuid.UUID(org),
            filename="x.csv",
            content_type="text/csv",
        )
        session.add(prepared)
        await session.flush()
        return str(prepared.id)


async def _source_document(runtime: Runtime, org: str) -> str:
    async with runtime.db.session() as session:
        document = SourceDocument(
            organization_id=uuid.UUID(org),
            filename="x.txt",
            sha256="0" * 64,
            storage_key=f"documents/{org}/x",
        )
        session.add(document)
        await session.flush()
        return str(document.id)


async def _project(runtime: Runtime, org: str) -> str:
    async with runtime.db.session() as session:
        project = Project(organization_id=uuid.UUID(org), name="P", search_text="p")
        session.add(project)
        await session.flush()
        return str(project.id)


async def _presentation(runtime: Runtime, org: str, project: str, document: str) -> dict[str, str]:
    """A presentation with one source and one slide (version 1), for the nested routes."""
    async with runtime.db.session() as session:
        presentation = Presentation(
            organization_id=uuid.UUID(org), project_id=uuid.UUID(project), title="Deck"
        )
        session.add(presentation)
        await session.flush()
        source = PresentationSource(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            document_id=uuid.UUID(document),
        )
        slide = Slide(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            position=1,
            title="One",
        )
        session.add(source)
        write_slide(session, slide, author=Author("job"), reason="created")
        session.add(slide)
        job = GenerationJob(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            kind="outline",
            status="succeeded",
        )
        session.add(job)
        kit = BrandKit(organization_id=presentation.organization_id, name="Kit")
        export = ExportJob(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            format="pptx",
            status="failed",
        )
        share = Share(
            organization_id=presentation.organization_id,
            presentation_id=presentation.id,
            token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
        )
        session.add_all([kit, export, share])
        await session.flush()
        return {
            "presentation_id": str(presentation.id),
            "source_id": str(source.id),
            "slide_id": str(slide.id),
            "version": "1",
            "job_id": str(job.id),
            "brand_kit_id": str(kit.id),
            "export_id": str(export.id),
            "share_id": str(share.id),
            "provider": "google",
        }


async def _world(client: httpx.AsyncClient, runtime: Runtime) -> World:
    users: dict[Role, dict[str, str]] = {}
    for role in ROLES:
        users[role] = await bearer(client, f"{role.value}@a.example")
    own_org = (
        await client.post("/api/v1/organizations", json={"name": "A"}, headers=users[Role.OWNER])
    ).json()["id"]
    ids = {}
    for role in ROLES[1:]:
        ids[role] = await _member(runtime, own_org, f"{role.value}@a.example", role)
    other_owner = await bearer(client, "owner@b.example")
    other_org = (
        await client.post("/api/v1/organizations", json={"name": "B"}, headers=other_owner)
    ).json()["id"]
    other_member = await bearer(client, "member@b.example")
    other_member_id = (await client.get("/api/v1/users/me", headers=other_member)).json()["id"]
    await _member(runtime, other_org, "member@b.example", Role.VIEWER)
    own_key = await _key(client, users[Role.OWNER], own_org, ["usage:read"])
    other_key = await _key(client, other_owner, other_org, list(SCOPES))
    keys_without = {None: (await _key(client, users[Role.OWNER], own_org, list(SCOPES)))["key"]}
    for scope in SCOPES:
        rest = [s for s in SCOPES if s != scope]
        keys_without[scope] = (await _key(client, users[Role.OWNER], own_org, rest))["key"]
    own: dict[str, str] = {
        "organization_id": own_org,
        "document_id": await _source_document(runtime, own_org),
        "project_id": await _project(runtime, own_org),
    }
    other: dict[str, str] = {
        "organization_id": other_org,
        "document_id": await _source_document(runtime, other_org),
        "project_id": await _project(runtime, other_org),
    }
    for values in (own, other):
        values.update(
            await _presentation(
                runtime, values["organization_id"], values["project_id"], values["document_id"]
            )
        )
    return World(
        own={
            **own,
            "user_id": ids[Role.VIEWER],
            "key_id": own_key["id"],
            "file_id": await _prepared_file(runtime, own_org),
        },
        other={
            **other,
            "user_id": other_member_id,
            "key_id": other_key["id"],
            "file_id": await _prepared_file(runtime, other_org),
        },
        users=users,
        key_of_other=other_key["key"],
        keys_without=keys_without,
        key_with_all=keys_without[None],
    )


async def _snapshot(runtime: Runtime) -> list[Any]:
    rows: list[Any] = []
    async with runtime.db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in VOLATILE]
            query = select(*columns)
            if table.name == "audit_entries":
                query = query.where(~table.c.action.startswith("security."))
            found = (await session.execute(query)).all()
            rows.append((table.name, sorted(map(repr, found))))
    return rows


def _url(route: ApiRoute, values: dict[str, str], rule: Permission | None = None) -> str:
    path = route.path
    for name in re.findall(r"{(\w+)}", route.path):
        assert name in values, f"{route.path}: add a value for the path parameter {name!r}"
        path = path.replace("{" + name + "}", values[name])
    if rule is not None and rule.organization_from == "query":
        path += f"?organization_id={values['organization_id']}"
    return path


@dataclass(frozen=True)
class Case:
    who: str
    headers: dict[str, str]
    values: dict[str, str]
    status: int | None  # None: allowed
    code: str | None = None
    extra: tuple[tuple[str, str], ...] = ()


def _cases(route: ApiRoute, rule: Permission, world: World) -> list[Case]:
    cases = [Case("nobody", {}, world.own, 401, "unauthorized")]
    if rule.kind == "user":
        cases.append(
            Case("key", {"X-API-Key": world.key_with_all}, world.own, 403, "insufficient_scope")
        )
        if "{" not in route.path:  # a user's own things are found by id in their own tests
            cases += [Case(role.value, world.users[role], world.own, None) for role in ROLES]
        return cases
    assert rule.kind == "organization" and rule.role is not None
    for role in ROLES:
        headers = world.users[role]
        cases.append(Case(f"{role.value}/other", headers, world.other, 404, "not_found"))
        if role.at_least(rule.role):
            cases.append(Case(role.value, headers, world.own, None))
        else:
            extra = (("required", rule.role.value), ("current", role.value))
            cases.append(Case(role.value, headers, world.own, 403, "insufficient_role", extra))
    without = {"X-API-Key": world.keys_without[rule.scope]}
    cases.append(Case("key-without", without, world.own, 403, "insufficient_scope"))
    cases.append(Case("key/other", {"X-API-Key": world.key_of_other}, world.own, 404, "not_found"))
    if rule.scope is None:
        with_all = {"X-API-Key": world.key_with_all}
        cases.append(Case("key-with", with_all, world.own, 403, "insufficient_scope"))
    else:
        cases.append(Case("key-with", {"X-API-Key": world.key_with_all}, world.own, None))
        cases.append(
            Case("key-with/other", {"X-API-Key": world.key_with_all}, world.other, 404, "not_found")
        )
    return cases


async def test_route_matrix(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    world = await _world(presentai_client, runtime)
    app = create_app(runtime)
    checked = 0
    failures: list[str] = []
    for route in api_routes(app):
        if route.path in INFRASTRUCTURE:
            continue
        rule = permission(route)
        if rule.kind == "public":
            continue
        for method in sorted(route.methods - {"HEAD"}):
            before = await _snapshot(runtime)
            allowed_reads: list[Case] = []
            for case in _cases(route, rule, world):
                if case.status is None:
                    if method == "GET":
                        allowed_reads.append(case)
                    continue
                body = {"organization_id": case.values["organization_id"]}
                response = await presentai_client.request(
                    method,
                    _url(route, case.values, rule),
                    headers=case.headers,
                    json=None if method == "GET" else body,
                )
                checked += 1
                label = f"{method} {route.path} as {case.who}"
                got = response.json() if response.content else {}
                if response.status_code != case.status or got.get("error") != case.code:
                    failures.append(f"{label}: {response.status_code} {response.text[:200]}")
                    continue
                for key, value in case.extra:
                    if got.get(key) != value:
                        failures.append(f"{label}: {key}={got.get(key)!r}, expected {value!r}")
            if await _snapshot(runtime) != before:
                failures.append(f"{method} {route.path}: a refused request changed the database")
            for case in allowed_reads:
                response = await presentai_client.get(
                    _url(route, case.values, rule), headers=case.headers
                )
                checked += 1
                if response.status_code >= 400:
                    failures.append(
                        f"GET {route.path} as {case.who} (allowed): {response.status_code} "
                        f"{response.text[:200]}"
                    )
    assert failures == [], "\n".join(failures)
    assert checked > 150, checked
