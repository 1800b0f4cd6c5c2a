"""`/brand-kits`: CRUD, the organization's default, PPTX templates and logos, and the
presentations that pick a kit."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from typing import Any

import docx
import httpx
import pptx
import pytest
from PIL import Image

from parmenid.core.errors import ValidationFailed
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.brand_kits.templates import TemplateLimits, inspect_template
from parmenid.presentai.presentations.models import Presentation
from parmenid.runtime import Runtime
from tests.helpers import bearer, error_of
from tests.presentai.test_presentations import (
    add_member,
    make_org,
    make_presentation,
    make_project,
)

API = "/api/v1/brand-kits"
TEMPLATE_LIMIT = 300_000
LOGO_LIMIT = 60_000
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "rate_limit": {"enabled": False},
        "presentai": {
            "template_max_bytes": TEMPLATE_LIMIT,
            "logo_max_bytes": LOGO_LIMIT,
            "brand_kits_per_organization": 5,
        },
    }


async def _kit(
    client: httpx.AsyncClient, headers: dict[str, str], org_id: str, name: str, **extra: Any
) -> dict[str, Any]:
    created = await client.post(
        API, json={"organization_id": org_id, "name": name, **extra}, headers=headers
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def _defaults(client: httpx.AsyncClient, headers: dict[str, str], org_id: str) -> list[str]:
    listed = await client.get(API, params={"organization_id": org_id}, headers=headers)
    return [kit["name"] for kit in listed.json()["items"] if kit["is_default"]]


def _template(rename: str | None = None, layouts: int | None = None) -> bytes:
    deck = pptx.Presentation()
    master = deck.slide_masters[0]
    if rename is not None:
        deck.slide_layouts[1].name = rename
    if layouts is not None:
        for layout in list(master.slide_layouts)[layouts:]:
            master.slide_layouts.remove(layout)
    deck.slides.add_slide(deck.slide_layouts[0])
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def _relabelled(data: bytes, content_type: str) -> bytes:
    """The package with its main part's content type changed (a .potx, a .pptm, ...)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as copy:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "[Content_Types].xml":
                content = content.replace(
                    f"{PPTX_TYPE}.presentation.main+xml".encode(), content_type.encode()
                )
            copy.writestr(entry, content)
    return out.getvalue()


def _without(data: bytes, part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as copy:
        for entry in source.infolist():
            if entry.filename != part:
                copy.writestr(entry, source.read(entry))
    return out.getvalue()


def _png(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 58, 147)).save(out, format=fmt)
    return out.getvalue()


async def _upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kit_id: str,
    what: str,
    name: str,
    data: bytes,
) -> httpx.Response:
    return await client.post(
        f"{API}/{kit_id}/{what}",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


async def _row(runtime: Runtime, kit_id: str) -> BrandKit | None:
    async with runtime.db.session() as session:
        return await session.get(BrandKit, uuid.UUID(kit_id))


async def _gone(runtime: Runtime, key: str) -> bool:
    assert runtime.storage is not None
    for _ in range(50):  # files go after the commit, in the background
        if not await runtime.storage.exists(key):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_crud_and_validation(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(
        presentai_client,
        owner,
        org_id,
        "  Корпоративный  ",
        colors={"primary": "#1f3a93", "accent": " #f59e0b "},
        fonts={"heading": "PT  Sans", "body": "Arial"},
        footer_text="ООО «Ромашка» · конфиденциально",
        default_layouts={"content": "two_columns", "closing": "closing"},
        attribution="notes",
    )
    assert (kit["name"], kit["is_default"], kit["attribution"]) == ("Корпоративный", True, "notes")
    assert kit["colors"] == {
        "primary": "#1F3A93",
        "secondary": None,
        "accent": "#F59E0B",
        "background": None,
        "text": None,
    }
    assert kit["fonts"] == {"heading": "PT Sans", "body": "Arial"}
    assert kit["default_layouts"] == {"content": "two_columns", "closing": "closing"}
    assert (kit["template"], kit["has_logo"], kit["logo_url"]) == (None, False, None)
    got = await presentai_client.get(f"{API}/{kit['id']}", headers=owner)
    assert got.status_code == 200 and got.json() == kit

    patched = await presentai_client.patch(
        f"{API}/{kit['id']}",
        json={
            "colors": {"primary": "#000000", "accent": None, "text": "#111111"},
            "fonts": None,
            "default_layouts": {"content": None, "title": "section"},
            "footer_text": None,
            "name": "Brand",
        },
        headers=owner,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["colors"]["primary"], body["colors"]["accent"], body["colors"]["text"]) == (
        "#000000",
        None,
        "#111111",
    )
    assert body["fonts"] == {"heading": None, "body": None}
    assert body["default_layouts"] == {"closing": "closing", "title": "section"}
    assert (body["footer_text"], body["name"]) == (None, "Brand")

    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"colors": {"primary": "#12345"}}, "colors.primary"),
        ({"colors": {"primary": "red"}}, "colors.primary"),
        ({"colors": {"accent": "#GGGGGG"}}, "colors.accent"),
        ({"colors": {"primery": "#123456"}}, "colors.primery"),
        ({"fonts": {"heading": "x" * 101}}, "fonts.heading"),
        ({"fonts": {"heading": "Arial\nBold"}}, "fonts.heading"),
        ({"footer_text": "f" * 301}, "footer_text"),
        ({"footer_text": "line\nbreak"}, "footer_text"),
        ({"default_layouts": {"content": "spiral"}}, "default_layouts.content"),
        ({"default_layouts": {"appendix": "bullets"}}, "default_layouts.appendix.[key]"),
        ({"attribution": "inline"}, "attribution"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"is_default": None}, "is_default"),
    ]
    for patch, field in bad_bodies:
        refused = error_of(
            await presentai_client.patch(f"{API}/{kit['id']}", json=patch, headers=owner),
            422,
            "validation_error",
        )
        assert field in [d["field"] for d in refused["details"]], (patch, refused)
        create = {"organization_id": org_id, "name": "x", **patch} | (
            {"name": patch["name"]} if "name" in patch else {}
        )
        if "is_default" not in patch:
            refused = error_of(
                await presentai_client.post(API, json=create, headers=owner),
                422,
                "validation_error",
            )
            assert field in str(refused), (create, refused)
    listed = await presentai_client.get(API, params={"organization_id": org_id}, headers=owner)
    assert [k["name"] for k in listed.json()["items"]] == ["Brand"]  # nothing else was made

    deleted = await presentai_client.delete(f"{API}/{kit['id']}", headers=owner)
    assert deleted.status_code == 204
    error_of(await presentai_client.get(f"{API}/{kit['id']}", headers=owner), 404, "not_found")


async def test_list_search_cursor_and_api_key(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    names = ["Зелёный", "ЗЕЛЁНЫЙ тёмный", "Blue", "blue dark", "Red"]
    for name in names:
        await _kit(presentai_client, owner, org_id, name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"organization_id": org_id, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await presentai_client.get(API, params=params, headers=owner)).json()
        seen += [kit["name"] for kit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names[::-1]
    found = await presentai_client.get(
        API, params={"organization_id": org_id, "q": "зелёный"}, headers=owner
    )
    assert [k["name"] for k in found.json()["items"]] == ["ЗЕЛЁНЫЙ тёмный", "Зелёный"]
    first = await presentai_client.get(
        API, params={"organization_id": org_id, "q": "BLUE", "limit": 1}, headers=owner
    )
    rest = await presentai_client.get(
        API,
        params={"organization_id": org_id, "q": "BLUE", "cursor": first.json()["next_cursor"]},
        headers=owner,
    )
    assert [k["name"] for k in first.json()["items"] + rest.json()["items"]] == [
        "blue dark",
        "Blue",
    ]
    error_of(
        await presentai_client.get(
            API, params={"organization_id": org_id, "cursor": "bm9wZQ"}, headers=owner
        ),
        422,
        "validation_error",
    )
    error_of(await presentai_client.get(API, headers=owner), 422, "validation_error")

    key = await presentai_client.post(
        "/api/v1/api-keys",
        json={"organization_id": org_id, "name": "ci", "scopes": ["presentations:read"]},
        headers=owner,
    )
    full = await presentai_client.post(
        API, json={"organization_id": org_id, "name": "Sixth"}, headers=owner
    )
    assert error_of(full, 409, "conflict")["limit"] == 5
    with_key = {"X-API-Key": key.json()["key"]}
    listed = await presentai_client.get(API, headers=with_key)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 5
    refused = await presentai_client.post(
        API, json={"organization_id": org_id, "name": "x"}, headers=with_key
    )
    assert error_of(refused, 403, "insufficient_scope")["required_scope"] == "presentations:write"


async def test_the_default_kit(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    first = await _kit(presentai_client, owner, org_id, "First", is_default=False)
    assert first["is_default"] is True  # an organization's first kit is its default
    second = await _kit(presentai_client, owner, org_id, "Second")
    assert second["is_default"] is False
    third = await _kit(presentai_client, owner, org_id, "Third", is_default=True)
    assert third["is_default"] is True
    assert await _defaults(presentai_client, owner, org_id) == ["Third"]

    switched = await presentai_client.patch(
        f"{API}/{second['id']}", json={"is_default": True}, headers=owner
    )
    assert switched.json()["is_default"] is True
    assert await _defaults(presentai_client, owner, org_id) == ["Second"]
    refused = error_of(
        await presentai_client.patch(
            f"{API}/{second['id']}", json={"is_default": False}, headers=owner
        ),
        422,
        "validation_error",
    )
    assert refused["details"][0]["field"] == "is_default"
    same = await presentai_client.patch(
        f"{API}/{first['id']}", json={"is_default": False}, headers=owner
    )
    assert same.status_code == 200  # not the default: nothing to do

    # Two requests at once that each make a kit the default leave exactly one.
    await asyncio.gather(
        *(
            presentai_client.patch(f"{API}/{kit['id']}", json={"is_default": True}, headers=owner)
            for kit in (first, third)
        )
    )
    assert len(await _defaults(presentai_client, owner, org_id)) == 1

    await presentai_client.patch(f"{API}/{third['id']}", json={"is_default": True}, headers=owner)
    assert (await presentai_client.delete(f"{API}/{third['id']}", headers=owner)).status_code == 204
    assert await _defaults(presentai_client, owner, org_id) == ["First"]  # the oldest left
    await presentai_client.delete(f"{API}/{second['id']}", headers=owner)
    assert await _defaults(presentai_client, owner, org_id) == ["First"]
    await presentai_client.delete(f"{API}/{first['id']}", headers=owner)
    assert await _defaults(presentai_client, owner, org_id) == []

    # Two first kits created at once: one of them is the default.
    other_org = await make_org(presentai_client, owner, "Other")
    created = await asyncio.gather(
        *(
            presentai_client.post(
                API, json={"organization_id": other_org, "name": name}, headers=owner
            )
            for name in ("A", "B")
        )
    )
    assert [r.status_code for r in created] == [201, 201]
    assert len(await _defaults(presentai_client, owner, other_org)) == 1


async def test_template_upload_describes_and_stores_it(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(presentai_client, owner, org_id, "Brand")
    data = _template(rename="Корпоративный контент")
    uploaded = await _upload(presentai_client, owner, kit["id"], "template", "brand.pptx", data)
    assert uploaded.status_code == 201, uploaded.text
    template = uploaded.json()["template"]
    assert template["filename"] == "brand.pptx"
    info = template["info"]
    assert (info["slide_width_emu"], info["slide_height_emu"]) == (9144000, 6858000)
    assert (info["masters"], info["slides"], len(info["layouts"])) == (1, 1, 11)
    assert info["layouts"][:2] == ["Title Slide", "Корпоративный контент"]
    assert info["theme_fonts"] == {"major": "Calibri", "minor": "Calibri"}
    assert info["theme_colors"]["dk1"] == "#000000" and "accent1" in info["theme_colors"]
    row = await _row(runtime, kit["id"])
    assert row is not None and row.template_storage_key is not None
    first_key = row.template_storage_key
    assert first_key.startswith(f"brand-kits/{org_id}/{kit['id']}/template")
    assert runtime.storage is not None
    stored = pptx.Presentation(io.BytesIO(await runtime.storage.get(first_key)))
    assert stored.slide_layouts[1].name == "Корпоративный контент"

    # A .potx is taken and stored as a presentation python-pptx (so the renderer) opens.
    potx = _relabelled(_template(), f"{PPTX_TYPE}.template.main+xml")
    replaced = await _upload(presentai_client, owner, kit["id"], "template", "brand.potx", potx)
    assert replaced.status_code == 200, replaced.text
    row = await _row(runtime, kit["id"])
    assert row is not None and row.template_storage_key not in (None, first_key)
    assert row.template_storage_key is not None
    pptx.Presentation(io.BytesIO(await runtime.storage.get(row.template_storage_key)))
    assert await _gone(runtime, first_key)  # the replaced file

    removed = await presentai_client.delete(f"{API}/{kit['id']}/template", headers=owner)
    assert removed.status_code == 200 and removed.json()["template"] is None
    assert await _gone(runtime, row.template_storage_key)
    again = await presentai_client.delete(f"{API}/{kit['id']}/template", headers=owner)
    assert again.status_code == 200


async def test_templates_are_refused_clearly(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(presentai_client, owner, org_id, "Brand")

    async def send(name: str, data: bytes) -> httpx.Response:
        return await _upload(presentai_client, owner, kit["id"], "template", name, data)

    word = io.BytesIO()
    docx.Document().save(word)
    refused = error_of(await send("brand.pptx", word.getvalue()), 415, "unsupported_file_type")
    assert "DOCX" in refused["message"]
    error_of(await send("brand.pptx", b"just some text\n" * 10), 415, "unsupported_file_type")
    error_of(
        await send("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        415,
        "unsupported_file_type",
    )
    macros = _relabelled(
        _template(), "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
    )
    error_of(await send("brand.pptm", macros), 415, "unsupported_file_type")

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("ppt/presentation.xml", "w") as entry:
            for _ in range(16):
                entry.write(bytes(1 << 20))
    assert len(bomb.getvalue()) < TEMPLATE_LIMIT
    refused = error_of(await send("bomb.pptx", bomb.getvalue()), 422, "validation_error")
    assert (refused["reason"], refused["details"][0]["field"]) == ("zip_bomb", "file")

    good = _template()
    refused = error_of(await send("cut.pptx", good[: len(good) // 2]), 422, "validation_error")
    assert refused["reason"] == "corrupt" and "PowerPoint" in refused["message"]
    refused = error_of(
        await send("broken.pptx", _without(good, "ppt/slideMasters/slideMaster1.xml")),
        422,
        "validation_error",
    )
    assert refused["reason"] == "corrupt" and "missing" in refused["message"]
    assert (await send("few.pptx", _template(layouts=3))).status_code == 201

    too_big = await send("big.pptx", b"PK\x03\x04" + bytes(TEMPLATE_LIMIT))
    assert error_of(too_big, 413, "file_too_large")["max_bytes"] == TEMPLATE_LIMIT
    error_of(
        await presentai_client.post(
            f"{API}/{kit['id']}/template", json={"file": "x"}, headers=owner
        ),
        415,
        "unsupported_file_type",
    )


def test_template_limits() -> None:
    with pytest.raises(ValidationFailed) as refused:
        inspect_template(_template(), TemplateLimits(max_layouts=5))
    assert refused.value.extra["reason"] == "too_many_layouts"
    assert "11 layouts; at most 5" in refused.value.message.en
    with pytest.raises(ValidationFailed) as refused:
        inspect_template(_template(), TemplateLimits(max_slides=0))
    assert refused.value.extra["reason"] == "too_many_slides"
    assert inspect_template(_template(layouts=2), TemplateLimits()).info["layouts"] == [
        "Title Slide",
        "Title and Content",
    ]


async def test_logo(presentai_client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(presentai_client, owner, org_id, "Brand")
    none = await presentai_client.get(f"{API}/{kit['id']}/logo", headers=owner)
    assert none.status_code == 204 and none.content == b""

    png = _png(120, 40)
    uploaded = await _upload(presentai_client, owner, kit["id"], "logo", "logo.txt", png)
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert (body["has_logo"], body["logo_content_type"]) == (True, "image/png")
    assert body["logo_url"].endswith(f"/api/v1/brand-kits/{kit['id']}/logo")
    shown = await presentai_client.get(f"{API}/{kit['id']}/logo", headers=owner)
    assert shown.status_code == 200 and shown.content == png
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    cached = await presentai_client.get(
        f"{API}/{kit['id']}/logo", headers=owner | {"If-None-Match": shown.headers["etag"]}
    )
    assert cached.status_code == 304

    row = await _row(runtime, kit["id"])
    assert row is not None and row.logo_storage_key is not None
    jpeg = _png(64, 64, "JPEG")
    replaced = await _upload(presentai_client, owner, kit["id"], "logo", "logo.jpg", jpeg)
    assert replaced.status_code == 200 and replaced.json()["logo_content_type"] == "image/jpeg"
    assert await _gone(runtime, row.logo_storage_key)

    async def refused(name: str, data: bytes, status: int, code: str) -> dict[str, Any]:
        return error_of(
            await _upload(presentai_client, owner, kit["id"], "logo", name, data), status, code
        )

    await refused("logo.png", b"not an image at all", 415, "unsupported_file_type")
    await refused(
        "logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "unsupported_file_type"
    )
    wide = await refused("wide.png", _png(4097, 1), 422, "validation_error")
    assert wide["reason"] == "dimensions" and "4096" in wide["message"]
    cut = await refused("cut.png", png[: len(png) // 2], 422, "validation_error")
    assert cut["reason"] == "corrupt"
    big = await refused("big.png", png + bytes(LOGO_LIMIT), 413, "file_too_large")
    assert big["max_bytes"] == LOGO_LIMIT
    shown = await presentai_client.get(f"{API}/{kit['id']}/logo", headers=owner)
    assert shown.content == jpeg  # nothing refused replaced it

    removed = await presentai_client.delete(f"{API}/{kit['id']}/logo", headers=owner)
    assert removed.status_code == 200 and removed.json()["has_logo"] is False
    row = await _row(runtime, kit["id"])
    assert row is not None and row.logo_storage_key is None
    none = await presentai_client.get(f"{API}/{kit['id']}/logo", headers=owner)
    assert none.status_code == 204


async def test_deleting_a_kit_removes_its_files_and_references(
    presentai_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(presentai_client, owner, org_id, "Brand")
    await _upload(presentai_client, owner, kit["id"], "logo", "l.png", _png(10, 10))
    await _upload(presentai_client, owner, kit["id"], "template", "t.pptx", _template())
    row = await _row(runtime, kit["id"])
    assert row is not None and row.logo_storage_key and row.template_storage_key
    project_id = await make_project(presentai_client, owner, org_id)
    deck = await make_presentation(
        presentai_client, owner, project_id, "Deck", brand_kit_id=kit["id"]
    )
    plain = await make_presentation(presentai_client, owner, project_id, "Plain")
    async with runtime.db.session() as session:
        before = await session.get(Presentation, uuid.UUID(deck["id"]))
        assert before is not None
        updated_at = before.updated_at

    assert (await presentai_client.delete(f"{API}/{kit['id']}", headers=owner)).status_code == 204
    assert await _gone(runtime, row.logo_storage_key)
    assert await _gone(runtime, row.template_storage_key)
    got = await presentai_client.get(f"/api/v1/presentations/{deck['id']}", headers=owner)
    assert got.json()["brand_kit_id"] is None and got.json()["title"] == "Deck"
    async with runtime.db.session() as session:
        after = await session.get(Presentation, uuid.UUID(deck["id"]))
        assert after is not None and after.parameters["slide_count"] == 10
        assert after.updated_at == updated_at
    untouched = await presentai_client.get(f"/api/v1/presentations/{plain['id']}", headers=owner)
    assert untouched.json()["brand_kit_id"] is None


async def test_presentations_pick_a_kit_of_their_organization(
    presentai_client: httpx.AsyncClient,
) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    project_id = await make_project(presentai_client, owner, org_id)
    kit = await _kit(presentai_client, owner, org_id, "Ours")
    stranger = await bearer(presentai_client, "stranger@example.com")
    other_org = await make_org(presentai_client, stranger, "Theirs")
    theirs = await _kit(presentai_client, stranger, other_org, "Theirs")

    for foreign in (theirs["id"], str(uuid.uuid4())):
        refused = error_of(
            await presentai_client.post(
                "/api/v1/presentations",
                json={"project_id": project_id, "title": "x", "brand_kit_id": foreign},
                headers=owner,
            ),
            422,
            "validation_error",
        )
        assert refused["details"][0]["field"] == "brand_kit_id"
    deck = await make_presentation(presentai_client, owner, project_id, "D", brand_kit_id=kit["id"])
    assert deck["brand_kit_id"] == kit["id"]
    url = f"/api/v1/presentations/{deck['id']}"
    refused = error_of(
        await presentai_client.patch(url, json={"brand_kit_id": theirs["id"]}, headers=owner),
        422,
        "validation_error",
    )
    assert refused["details"][0]["field"] == "brand_kit_id"
    cleared = await presentai_client.patch(url, json={"brand_kit_id": None}, headers=owner)
    assert cleared.status_code == 200 and cleared.json()["brand_kit_id"] is None
    again = await presentai_client.patch(url, json={"brand_kit_id": kit["id"]}, headers=owner)
    assert again.json()["brand_kit_id"] == kit["id"]


async def test_tenants_and_roles(presentai_client: httpx.AsyncClient) -> None:
    owner = await bearer(presentai_client, "owner@example.com")
    org_id = await make_org(presentai_client, owner)
    kit = await _kit(presentai_client, owner, org_id, "Brand")
    await _upload(presentai_client, owner, kit["id"], "logo", "l.png", _png(10, 10))
    viewer = await add_member(presentai_client, owner, org_id, "viewer@example.com", "viewer")
    url = f"{API}/{kit['id']}"
    assert (await presentai_client.get(url, headers=viewer)).status_code == 200
    assert (await presentai_client.get(f"{url}/logo", headers=viewer)).status_code == 200
    for response in (
        await presentai_client.post(
            API, json={"organization_id": org_id, "name": "x"}, headers=viewer
        ),
        await presentai_client.patch(url, json={"name": "x"}, headers=viewer),
        await presentai_client.delete(url, headers=viewer),
        await _upload(presentai_client, viewer, kit["id"], "logo", "l.png", _png(5, 5)),
        await _upload(presentai_client, viewer, kit["id"], "template", "t.pptx", _template()),
        await presentai_client.delete(f"{url}/logo", headers=viewer),
    ):
        refused = error_of(response, 403, "insufficient_role")
        assert (refused["required"], refused["current"]) == ("editor", "viewer")

    stranger = await bearer(presentai_client, "stranger@example.com")
    for response in (
        await presentai_client.get(url, headers=stranger),
        await presentai_client.get(f"{url}/logo", headers=stranger),
        await presentai_client.patch(url, json={"name": "x"}, headers=stranger),
        await presentai_client.delete(url, headers=stranger),
        await _upload(presentai_client, stranger, kit["id"], "template", "t.pptx", _template()),
        await presentai_client.get(API, params={"organization_id": org_id}, headers=stranger),
        await presentai_client.post(
            API, json={"organization_id": org_id, "name": "x"}, headers=stranger
        ),
    ):
        error_of(response, 404, "not_found")
    assert (await presentai_client.get(url, headers=owner)).json()["name"] == "Brand"
