"""Google Slides export: the deck built in the user's Google account with the Slides API.

`publish_deck` creates a presentation (`POST /v1/presentations`), builds every slide with one
or a few `batchUpdate` calls (`slides_builder`), reads the slides back to learn their speaker
notes shapes and writes the notes with one more `batchUpdate`. A presentation left unfinished
by a failure is deleted again (Drive `files.delete`, allowed by the `drive.file` scope), so a
retried export does not leave half-built copies behind.

The access token is refreshed when it expires within a minute or an API answers 401. A refresh
refused with `invalid_grant` (the person revoked access, or the grant expired) deletes the
connection: `GoogleNotConnected` (409) tells them to connect again. Google failing or refusing
otherwise is `GoogleSlidesFailed` (503): the export job fails, PPTX stays available.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parmenid.core.db import utcnow
from parmenid.core.errors import AppError, Text
from parmenid.presentai.oauth.google_api import GoogleApi, GoogleCallFailed, TokenRejected
from parmenid.presentai.oauth.models import OAuthConnection
from parmenid.presentai.oauth.service import GOOGLE, sealer_of
from parmenid.presentai.oauth.slides_builder import Page, clean, notes_requests, plan_deck
from parmenid.presentai.render.deck import Deck
from parmenid.runtime import Runtime

log = logging.getLogger("parmenid.oauth.google_slides")

CONNECT_URL = "/api/v1/oauth/google/authorize"
REFRESH_EARLY = timedelta(seconds=60)
EMU_PER_POINT = 12700
NOTES_FIELDS = "slides(objectId,slideProperties/notesPage/notesProperties)"


class GoogleNotConnected(AppError):
    """The user has not connected a Google account (or revoked it)."""

    code = "google_not_connected"
    status = 409


class GoogleSlidesFailed(AppError):
    """The Slides API refused or failed; the export fails, PPTX stays available."""

    code = "google_slides_unavailable"
    status = 503


NOT_CONNECTED = Text(
    "Connect your Google account first (Profile → Connections), then export again.",
    "Сначала подключите аккаунт Google (Профиль → Подключения), затем повторите экспорт.",
)
ACCESS_LOST = Text(
    "Google no longer accepts PresentAI's access to your account (it was revoked or has "
    "expired). Connect your Google account again, then export again.",
    "Google больше не принимает доступ PresentAI к вашему аккаунту (он отозван или истёк). "
    "Подключите аккаунт Google снова и повторите экспорт.",
)
SCOPE_MISSING = Text(
    "Your Google connection does not allow creating presentations. Connect your Google account "
    "again and allow Google Slides.",
    "Подключение Google не разрешает создавать презентации. Подключите аккаунт Google снова и "
    "разрешите доступ к Google Slides.",
)
NOT_CONFIGURED = Text(
    "Google Slides export is not configured on this server. PPTX export is available.",
    "Экспорт в Google Slides не настроен на этом сервере. Доступен экспорт в PPTX.",
)


def not_connected(message: Text = NOT_CONNECTED) -> GoogleNotConnected:
    return GoogleNotConnected(message, extra={"provider": GOOGLE, "connect_url": CONNECT_URL})


def slides_failed(problem: GoogleCallFailed) -> AppError:
    """Google's refusal or failure as the error the export reports."""
    if problem.status == 403 and problem.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
        return not_connected(SCOPE_MISSING)
    return GoogleSlidesFailed(
        Text(
            f"Google Slides failed ({problem.summary()}). PPTX export is still available.",
            f"Google Slides не справился ({problem.summary()}). Экспорт в PPTX доступен.",
        ),
        extra={} if problem.refused else {"retry_after": 60},
    )


async def is_connected(runtime_or_session: Runtime | AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user has a Google connection (it may still turn out revoked at Google)."""
    query = select(OAuthConnection.id).where(
        OAuthConnection.user_id == user_id, OAuthConnection.provider == GOOGLE
    )
    if isinstance(runtime_or_session, AsyncSession):
        return (await runtime_or_session.scalar(query)) is not None
    async with runtime_or_session.db.session() as session:
        return (await session.scalar(query)) is not None


class GoogleCredentials:
    """A user's Google access token, refreshed when needed. No database session is held while
    Google is called."""

    def __init__(self, runtime: Runtime, user_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.user_id = user_id
        self.api = GoogleApi(runtime.http, runtime.settings.google)
        self.sealer = sealer_of(runtime.settings)
        self._access: str | None = None

    def _mine(self) -> Any:
        return (OAuthConnection.user_id == self.user_id) & (OAuthConnection.provider == GOOGLE)

    async def token(self) -> str:
        if self._access is None:
            access, refresh, expires_at = await self._stored()
            if access is not None and (expires_at is None or expires_at - REFRESH_EARLY > utcnow()):
                self._access = access
            else:
                self._access = await self._refresh(refresh)
        return self._access

    async def refreshed(self) -> str:
        """A new access token (the current one was refused)."""
        _, refresh, _ = await self._stored()
        self._access = await self._refresh(refresh)
        return self._access

    async def _stored(self) -> tuple[str | None, str | None, datetime | None]:
        async with self.runtime.db.session() as session:
            connection = await session.scalar(select(OAuthConnection).where(self._mine()))
            if connection is None:
                found = False
            else:
                found = True
                access = self.sealer.open(
                    connection.access_token_sealed, self.user_id, GOOGLE, "access"
                )
                refresh = self.sealer.open(
                    connection.refresh_token_sealed, self.user_id, GOOGLE, "refresh"
                )
                expires_at = connection.expires_at
        if not found:
            raise not_connected()
        if access is None and refresh is None:  # sealed under another server secret
            await self.forget()
            raise not_connected(ACCESS_LOST)
        return access, refresh, expires_at

    async def _refresh(self, refresh: str | None) -> str:
        if refresh is None:
            await self.forget()
            raise not_connected(ACCESS_LOST)
        if not self.runtime.settings.google.enabled:
            raise GoogleSlidesFailed(NOT_CONFIGURED)
        try:
            grant = await self.api.refresh(refresh)
        except GoogleCallFailed as exc:
            if exc.status == 400 and exc.error == "invalid_grant":
                log.info("google grant revoked or expired; connection removed")
                await self.forget()
                raise not_connected(ACCESS_LOST) from exc
            raise slides_failed(exc) from exc
        values: dict[str, Any] = {
            "access_token_sealed": self.sealer.seal(
                grant.access_token, self.user_id, GOOGLE, "access"
            ),
            "expires_at": grant.expires_at,
            "updated_at": utcnow(),
        }
        if grant.refresh_token:
            values["refresh_token_sealed"] = self.sealer.seal(
                grant.refresh_token, self.user_id, GOOGLE, "refresh"
            )
        async with self.runtime.db.session() as session:
            updated = (
                await session.execute(
                    update(OAuthConnection)
                    .where(self._mine())
                    .values(**values)
                    .returning(OAuthConnection.id)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if updated is None:  # disconnected meanwhile
            raise not_connected()
        return grant.access_token

    async def forget(self) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(delete(OAuthConnection).where(self._mine()))


class _SlidesCalls:
    """API calls with the user's token: one refresh and repeat after a 401."""

    def __init__(self, credentials: GoogleCredentials) -> None:
        self.credentials = credentials
        self.api = credentials.api

    async def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        idempotent: bool,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        token = await self.credentials.token()
        for attempt in (1, 2):
            try:
                return await self.api.call(
                    method, url, what, token, idempotent=idempotent, json=json, params=params
                )
            except TokenRejected as exc:
                if attempt == 2:
                    raise not_connected(ACCESS_LOST) from exc
                token = await self.credentials.refreshed()
            except GoogleCallFailed as exc:
                log.warning("google slides call failed", extra={"problem": exc.summary()})
                raise slides_failed(exc) from exc
        raise AssertionError("unreachable")


def _page_of(presentation: dict[str, Any]) -> Page:
    size = presentation.get("pageSize") or {}
    points: list[float] = []
    for side in ("width", "height"):
        dimension = size.get(side) or {}
        magnitude = dimension.get("magnitude")
        if not isinstance(magnitude, int | float) or magnitude <= 0:
            return Page()
        points.append(magnitude / EMU_PER_POINT if dimension.get("unit") == "EMU" else magnitude)
    return Page(points[0], points[1])


async def publish_deck(runtime: Runtime, user_id: uuid.UUID, deck: Deck) -> str:
    """Create the deck in `user_id`'s Google account; the new presentation's file id."""
    if not await is_connected(runtime, user_id):
        raise not_connected()
    settings = runtime.settings.google
    if not settings.enabled:
        raise GoogleSlidesFailed(NOT_CONFIGURED)
    credentials = GoogleCredentials(runtime, user_id)
    calls = _SlidesCalls(credentials)
    base = settings.slides_api_url.rstrip("/") + "/v1/presentations"
    title = clean(deck.title, one_line=True) or "Presentation"
    created = await calls.call(
        "POST", base, "creating the presentation", idempotent=False, json={"title": title}
    )
    presentation_id = created.get("presentationId")
    if not isinstance(presentation_id, str) or not presentation_id:
        raise slides_failed(GoogleCallFailed("creating the presentation", 502, "", "no id"))
    url = f"{base}/{quote(presentation_id, safe='')}"
    try:
        remove = [s["objectId"] for s in created.get("slides") or [] if s.get("objectId")]
        plan = plan_deck(deck, remove=remove, page=_page_of(created))
        for number, batch in enumerate(plan.batches, 1):
            await calls.call(
                "POST",
                f"{url}:batchUpdate",
                f"building the slides ({number}/{len(plan.batches)})",
                idempotent=False,
                json={"requests": batch},
            )
        if plan.notes:
            built = await calls.call(
                "GET",
                url,
                "reading the slides back",
                idempotent=True,
                params={"fields": NOTES_FIELDS},
            )
            requests = notes_requests(plan.notes, _speaker_notes_ids(built))
            if requests:
                await calls.call(
                    "POST",
                    f"{url}:batchUpdate",
                    "writing the speaker notes",
                    idempotent=False,
                    json={"requests": requests},
                )
    except Exception:
        await _discard(calls, settings.drive_api_url, presentation_id)
        raise
    log.info(
        "deck published to google slides",
        extra={"presentation_id": presentation_id, "slides": len(plan.slide_ids)},
    )
    return presentation_id


def _speaker_notes_ids(presentation: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for slide in presentation.get("slides") or []:
        notes_page = (slide.get("slideProperties") or {}).get("notesPage") or {}
        notes_id = (notes_page.get("notesProperties") or {}).get("speakerNotesObjectId")
        if isinstance(notes_id, str) and slide.get("objectId"):
            found[str(slide["objectId"])] = notes_id
    return found


async def _discard(calls: _SlidesCalls, drive_api_url: str, presentation_id: str) -> None:
    """Deletes an unfinished presentation; a failure here only leaves it behind."""
    try:
        await calls.call(
            "DELETE",
            f"{drive_api_url.rstrip('/')}/drive/v3/files/{quote(presentation_id, safe='')}",
            "deleting the unfinished presentation",
            idempotent=True,
        )
    except AppError as exc:
        log.warning("unfinished google presentation left behind", extra={"problem": str(exc)})
