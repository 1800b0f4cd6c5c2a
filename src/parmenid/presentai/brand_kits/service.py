"""Brand kits: create, find, change, delete; their PPTX template and logo; the default.

Rules that are not obvious from the code:
* An organization that has kits has exactly one default: its first kit becomes the default,
  `is_default: true` on another moves it there, and deleting the default makes the oldest
  remaining kit the default. The default cannot be switched off by itself (422): make another
  kit the default instead. Every change of the default (and every create and delete) first
  locks the organization's row, so concurrent requests run one after another and never leave
  two defaults or none. PostgreSQL: `SELECT ... FOR NO KEY UPDATE` (inserts that refer to the
  organization are not blocked). SQLite: a no-op `UPDATE` of the row, because the driver opens
  the transaction only at the first write.
* An organization holds at most `brand_kits_per_organization` kits (409).
* A presentation's `brand_kit_id` must be a kit of its organization (422 on that field).
  Deleting a kit clears it from the presentations that named it, in one statement; they then
  use the organization's default.
* Files live in object storage under `brand-kits/{organization}/{kit}/`, each upload under a
  new name: the row names the file, and a replaced or removed file is deleted only after the
  transaction commits (a rolled-back change keeps the file its row still names).
* Lists are newest first with an opaque cursor (created_at, id); `q` matches names ignoring
  case (compared in Python, since SQLite's lower() knows only ASCII: the per-organization cap
  keeps that small).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import after_commit
from parmenid.core.errors import Conflict, FieldProblem, Text, ValidationFailed
from parmenid.core.storage import ObjectStorage
from parmenid.identity.models import Organization
from parmenid.presentai.authz import not_found_text
from parmenid.presentai.brand_kits.logos import InspectedLogo
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.brand_kits.schemas import (
    BrandKitCreate,
    BrandKitUpdate,
    as_stored,
    merged,
)
from parmenid.presentai.brand_kits.templates import InspectedTemplate
from parmenid.presentai.presentations.models import Presentation

log = logging.getLogger("parmenid.presentai.brand_kits")

BRAND_KIT = Text("Brand kit", "Брендбук")
BAD_CURSOR = Text("The cursor is invalid.", "Некорректный курсор.")
STAYS_DEFAULT = Text(
    "The organization's default brand kit stays the default until another kit is made the "
    "default: set is_default to true on that kit.",
    "Брендбук по умолчанию остаётся таким, пока другой не назначен по умолчанию: передайте "
    "is_default: true для другого брендбука.",
)
NOT_A_KIT = Text(
    "brand_kit_id: no such brand kit in this organization.",
    "brand_kit_id: в этой организации нет такого брендбука.",
)
LOGO_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
_pending_deletes: set[asyncio.Task[None]] = set()


def encode_cursor(created_at: datetime, item_id: uuid.UUID) -> str:
    raw = f"b|{created_at.isoformat()}|{item_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, moment, item = raw.split("|")
        if kind != "b":
            raise ValueError(kind)
        return datetime.fromisoformat(moment), uuid.UUID(item)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            BAD_CURSOR, problems=[FieldProblem("cursor", BAD_CURSOR, "cursor")]
        ) from exc


async def require_kit_of(
    session: AsyncSession, organization_id: uuid.UUID, kit_id: uuid.UUID
) -> None:
    """422 on `brand_kit_id` unless `kit_id` is a brand kit of the organization."""
    owner = await session.scalar(select(BrandKit.organization_id).where(BrandKit.id == kit_id))
    if owner != organization_id:
        raise ValidationFailed(
            NOT_A_KIT, problems=[FieldProblem("brand_kit_id", NOT_A_KIT, "not_found")]
        )


def _delete_after_commit(
    session: AsyncSession, storage: ObjectStorage, keys: Iterable[str | None]
) -> None:
    """Delete stored files once the transaction has committed (nothing on rollback)."""
    doomed = [key for key in keys if key]
    if not doomed:
        return

    async def delete() -> None:
        for key in doomed:
            try:
                await storage.delete(key)
            except Exception:  # an orphaned file is harmless; a failed request is not
                log.warning("could not delete %s", key, exc_info=True)

    def start() -> None:
        task = asyncio.get_running_loop().create_task(delete())
        _pending_deletes.add(task)
        task.add_done_callback(_pending_deletes.discard)

    after_commit(session, start)


@dataclass(frozen=True)
class BrandKitPage:
    items: list[BrandKit]
    next_cursor: str | None


class BrandKitService:
    def __init__(
        self, session: AsyncSession, storage: ObjectStorage | None = None, *, max_kits: int = 100
    ) -> None:
        self.session = session
        self._storage = storage
        self.max_kits = max_kits

    @property
    def storage(self) -> ObjectStorage:
        assert self._storage is not None, "this operation needs object storage"
        return self._storage

    # -- finding ---------------------------------------------------------------------------

    async def get(self, kit_id: uuid.UUID, *, reload: bool = False) -> BrandKit:
        kit = await self.session.get(BrandKit, kit_id, populate_existing=reload)
        if kit is None:
            raise not_found_text(BRAND_KIT)
        return kit

    async def page(
        self, organization_id: uuid.UUID, *, query_text: str | None, cursor: str | None, limit: int
    ) -> BrandKitPage:
        query = (
            select(BrandKit)
            .where(BrandKit.organization_id == organization_id)
            .order_by(BrandKit.created_at.desc(), BrandKit.id.desc())
        )
        if cursor:
            moment, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    BrandKit.created_at < moment,
                    and_(BrandKit.created_at == moment, BrandKit.id < last_id),
                )
            )
        if query_text and query_text.strip():
            needle = query_text.strip().casefold()
            kits = [k for k in await self.session.scalars(query) if needle in k.name.casefold()]
            kits = kits[: limit + 1]
        else:
            kits = list(await self.session.scalars(query.limit(limit + 1)))
        more = len(kits) > limit
        kits = kits[:limit]
        last = kits[-1] if more and kits else None
        return BrandKitPage(kits, encode_cursor(last.created_at, last.id) if last else None)

    # -- changing --------------------------------------------------------------------------

    async def _lock_organization(self, organization_id: uuid.UUID) -> None:
        """Hold the organization's row until the transaction ends (see the module docstring)."""
        row = Organization.id == organization_id
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(
                update(Organization)
                .where(row)
                .values(updated_at=Organization.updated_at)
                .execution_options(synchronize_session=False)
            )
        else:
            await self.session.execute(
                select(Organization.id).where(row).with_for_update(key_share=True)
            )

    async def _default_of(self, organization_id: uuid.UUID) -> uuid.UUID | None:
        found: uuid.UUID | None = await self.session.scalar(
            select(BrandKit.id).where(
                BrandKit.organization_id == organization_id, BrandKit.is_default.is_(True)
            )
        )
        return found

    async def _make_default(self, kit: BrandKit) -> None:
        """`kit` becomes the default; the others stop being it (the organization is locked)."""
        await self.session.execute(
            update(BrandKit)
            .where(
                BrandKit.organization_id == kit.organization_id,
                BrandKit.id != kit.id,
                BrandKit.is_default.is_(True),
            )
            .values(is_default=False)
            .execution_options(synchronize_session=False)
        )
        kit.is_default = True

    async def create(
        self, organization_id: uuid.UUID, created_by: uuid.UUID | None, body: BrandKitCreate
    ) -> BrandKit:
        await self._lock_organization(organization_id)
        held = int(
            await self.session.scalar(
                select(func.count())
                .select_from(BrandKit)
                .where(BrandKit.organization_id == organization_id)
            )
            or 0
        )
        if held >= self.max_kits:
            raise Conflict(
                Text(
                    f"The organization already has {held} brand kits, the most it may have: "
                    "delete one first.",
                    f"В организации уже {held} брендбуков — это максимум: сначала удалите "
                    "один из них.",
                ),
                extra={"limit": self.max_kits},
            )
        kit = BrandKit(
            organization_id=organization_id,
            name=body.name,
            colors=as_stored(body.colors),
            fonts=as_stored(body.fonts),
            footer_text=body.footer_text or None,
            default_layouts=as_stored(body.default_layouts),
            attribution=body.attribution,
            created_by_id=created_by,
            is_default=False,
        )
        self.session.add(kit)
        await self.session.flush()
        if body.is_default or await self._default_of(organization_id) is None:
            await self._make_default(kit)
            await self.session.flush()
        return kit

    async def update(self, kit: BrandKit, body: BrandKitUpdate) -> dict[str, Any]:
        """Apply the change; returns what changed (for the audit log)."""
        sent = body.model_fields_set
        if "is_default" in sent:
            await self._lock_organization(kit.organization_id)
            kit = await self.get(kit.id, reload=True)
        before = self._snapshot(kit)
        if body.name is not None:
            kit.name = body.name
        if "colors" in sent:
            kit.colors = merged(kit.colors or {}, body.colors)
        if "fonts" in sent:
            kit.fonts = merged(kit.fonts or {}, body.fonts)
        if "default_layouts" in sent:
            kit.default_layouts = merged(kit.default_layouts or {}, body.default_layouts)
        if "footer_text" in sent:
            kit.footer_text = body.footer_text or None
        if body.attribution is not None:
            kit.attribution = body.attribution
        if body.is_default is True and not kit.is_default:
            await self._make_default(kit)
        elif body.is_default is False and kit.is_default:
            raise ValidationFailed(
                STAYS_DEFAULT, problems=[FieldProblem("is_default", STAYS_DEFAULT, "default")]
            )
        after = self._snapshot(kit)
        changes = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
        await self.session.flush()
        return changes

    @staticmethod
    def _snapshot(kit: BrandKit) -> dict[str, Any]:
        return {
            "name": kit.name,
            "colors": dict(kit.colors or {}),
            "fonts": dict(kit.fonts or {}),
            "default_layouts": dict(kit.default_layouts or {}),
            "footer_text": kit.footer_text,
            "attribution": kit.attribution,
            "is_default": kit.is_default,
        }

    async def delete(self, kit: BrandKit) -> uuid.UUID | None:
        """Delete the kit and (after commit) its files; returns the new default, if it moved."""
        await self._lock_organization(kit.organization_id)
        kit = await self.get(kit.id, reload=True)
        was_default = kit.is_default
        await self._forget_in_presentations(kit)
        _delete_after_commit(
            self.session, self.storage, (kit.template_storage_key, kit.logo_storage_key)
        )
        await self.session.delete(kit)
        await self.session.flush()
        if not was_default:
            return None
        oldest = await self.session.scalar(
            select(BrandKit)
            .where(BrandKit.organization_id == kit.organization_id)
            .order_by(BrandKit.created_at, BrandKit.id)
            .limit(1)
        )
        if oldest is None:
            return None
        await self._make_default(oldest)
        await self.session.flush()
        return oldest.id

    async def _forget_in_presentations(self, kit: BrandKit) -> None:
        """Clear `parameters.brand_kit_id` where it names `kit`, in one statement, leaving
        `updated_at` as it was (nobody edited those presentations)."""
        if self.session.get_bind().dialect.name == "sqlite":
            cleared: Any = func.json_set(
                Presentation.parameters, "$.brand_kit_id", func.json("null")
            )
        else:
            cleared = func.jsonb_set(
                Presentation.parameters,
                literal_column("'{brand_kit_id}'"),
                literal_column("'null'::jsonb"),
            )
        await self.session.execute(
            update(Presentation)
            .where(
                Presentation.organization_id == kit.organization_id,
                Presentation.parameters["brand_kit_id"].as_string() == str(kit.id),
            )
            .values(parameters=cleared, updated_at=Presentation.updated_at)
            .execution_options(synchronize_session=False)
        )

    # -- files -----------------------------------------------------------------------------

    def _key(self, kit: BrandKit, name: str) -> str:
        return f"brand-kits/{kit.organization_id}/{kit.id}/{name}"

    async def set_template(self, kit: BrandKit, filename: str, template: InspectedTemplate) -> bool:
        """Store the (checked) template; True when it replaced one."""
        key = self._key(kit, f"template-{secrets.token_hex(6)}.pptx")
        await self.storage.put(key, template.data)
        replaced = kit.template_storage_key
        _delete_after_commit(self.session, self.storage, [replaced])
        kit.template_storage_key = key
        kit.template_filename = (filename or "template.pptx")[:300]
        kit.template_info = template.info
        await self.session.flush()
        return replaced is not None

    async def remove_template(self, kit: BrandKit) -> bool:
        """Forget the template (its file goes after commit); False when there was none."""
        if kit.template_storage_key is None:
            return False
        _delete_after_commit(self.session, self.storage, [kit.template_storage_key])
        kit.template_storage_key = None
        kit.template_filename = None
        kit.template_info = None
        await self.session.flush()
        return True

    async def set_logo(self, kit: BrandKit, data: bytes, logo: InspectedLogo) -> bool:
        """Store the (checked) logo; True when it replaced one."""
        extension = LOGO_EXTENSIONS[logo.content_type]
        key = self._key(kit, f"logo-{secrets.token_hex(6)}.{extension}")
        await self.storage.put(key, data)
        replaced = kit.logo_storage_key
        _delete_after_commit(self.session, self.storage, [replaced])
        kit.logo_storage_key = key
        kit.logo_content_type = logo.content_type
        await self.session.flush()
        return replaced is not None

    async def remove_logo(self, kit: BrandKit) -> bool:
        if kit.logo_storage_key is None:
            return False
        _delete_after_commit(self.session, self.storage, [kit.logo_storage_key])
        kit.logo_storage_key = None
        kit.logo_content_type = None
        await self.session.flush()
        return True

    async def logo(self, kit: BrandKit) -> bytes | None:
        """The logo's bytes; None when the kit has none (or its file is gone)."""
        if kit.logo_storage_key is None:
            return None
        try:
            return await self.storage.get(kit.logo_storage_key)
        except FileNotFoundError:
            log.warning("brand kit %s: logo file %s is missing", kit.id, kit.logo_storage_key)
            return None
