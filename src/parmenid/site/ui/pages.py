"""The embeddable chat widget (`/widget.js`) and the demo landing page (`/`).

The widget is one plain JavaScript file, served in every environment with a validator (ETag)
so browsers and CDNs revalidate cheaply after a deploy. The landing page is a demonstration of
the site API (lead forms, sign-up, sign-in, the widget); production serves the real site from
elsewhere, so there it answers 404 like any unknown address.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.exceptions import HTTPException

from parmenid.site.chat.models import Avatar
from parmenid.site.leads.models import Plan
from parmenid.webapp import RuntimeDep, SessionDep

router = APIRouter(include_in_schema=False)

# Embedding sites keep the URL fixed, so the file cannot be cached forever: an hour, then a
# cheap revalidation (304) against the ETag.
WIDGET_CACHE = "public, max-age=3600, stale-while-revalidate=86400"
ASSET_CACHE = "public, max-age=300"
# The landing page runs under a strict policy: the widget must work on sites that have one.
LANDING_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)

PLAN_TEXTS: dict[Plan, tuple[str, str]] = {
    Plan.FREE: ("Free", "Попробовать чат-бота и PresentAI на своих документах."),
    Plan.STARTER: ("Starter", "Один бот на сайте и презентации для небольшой команды."),
    Plan.GROWTH: ("Growth", "Несколько ботов, интеграции и больше генераций в месяц."),
    Plan.SCALE: ("Scale", "Для отделов продаж и маркетинга: квоты, роли, аналитика."),
    Plan.ENTERPRISE: ("Enterprise", "Выделенный сервер, SSO, свои модели и поддержка 24/7."),
}
RECOMMENDED_PLAN = Plan.GROWTH


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(name: str, media_type: str) -> Asset:
    body = (files("parmenid.site.ui") / "static" / name).read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@cache
def _assets() -> dict[str, Asset]:
    return {
        "widget.js": _asset("widget.js", "text/javascript; charset=utf-8"),
        "landing.js": _asset("landing.js", "text/javascript; charset=utf-8"),
        "landing.css": _asset("landing.css", "text/css; charset=utf-8"),
    }


@cache
def _landing_template() -> str:
    return (files("parmenid.site.ui") / "static" / "landing.html").read_text("utf-8")


def _serve(asset: Asset, request: Request, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
        # Embedding sites may isolate themselves (COEP); the script is meant for them.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if asset.etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.media_type, headers=headers)
    response.headers["Content-Length"] = str(len(asset.body))
    return response


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_script(request: Request) -> Response:
    """The chat widget: `<script src=".../widget.js" data-avatar-id="..."></script>`."""
    return _serve(_assets()["widget.js"], request, WIDGET_CACHE)


def _require_demo(runtime: RuntimeDep) -> None:
    if runtime.settings.environment == "production":
        raise HTTPException(404)


@router.api_route("/assets/{name}", methods=["GET", "HEAD"])
async def landing_asset(name: str, request: Request, runtime: RuntimeDep) -> Response:
    """The landing page's own script and styles."""
    _require_demo(runtime)
    asset = _assets().get(name)
    if asset is None or name == "widget.js":
        raise HTTPException(404)
    return _serve(asset, request, ASSET_CACHE)


async def demo_avatar_id(session: SessionDep, wanted: str | None) -> uuid.UUID | None:
    """The avatar the landing page shows: the one asked for, if active, else the oldest active."""
    query = select(Avatar.id).where(Avatar.is_active.is_(True))
    if wanted:
        try:
            query = query.where(Avatar.id == uuid.UUID(wanted))
        except ValueError:
            return None
    found = await session.scalar(query.order_by(Avatar.created_at, Avatar.id).limit(1))
    return found


def _plan_options() -> str:
    options = []
    for plan in Plan:
        title, text = PLAN_TEXTS.get(plan, (plan.value.title(), ""))
        checked = " checked" if plan is RECOMMENDED_PLAN else ""
        badge = '<span class="plan-badge">Популярный</span>' if plan is RECOMMENDED_PLAN else ""
        options.append(
            '<label class="plan">'
            f'<input type="radio" name="requested_plan" value="{html.escape(plan.value)}"'
            f"{checked}>"
            f'<span class="plan-card"><span class="plan-name">{html.escape(title)}{badge}</span>'
            f'<span class="plan-text">{html.escape(text)}</span></span></label>'
        )
    return "\n".join(options)


def _widget_block(avatar_id: uuid.UUID | None, wanted: str | None) -> str:
    if avatar_id is not None:
        return (
            f'<script src="/widget.js" data-avatar-id="{html.escape(str(avatar_id))}" '
            "defer></script>"
        )
    reason = (
        "Аватар из параметра <code>?avatar=</code> не найден или выключен."
        if wanted
        else "В базе нет активного чат-бота."
    )
    return (
        '<aside class="demo-hint" role="note"><strong>Демо-чат не показан.</strong> '
        f"{reason} Создайте демо-бота командой <code>parmenid demo seed</code> "
        "и обновите страницу.</aside>"
    )


@router.get("/", response_class=HTMLResponse)
async def landing_page(
    runtime: RuntimeDep, session: SessionDep, avatar: str | None = None
) -> HTMLResponse:
    """A demo of the corporate site: lead forms, sign-up and sign-in, and the chat widget
    (the avatar from `?avatar=`, else the oldest active one). Not served in production."""
    _require_demo(runtime)
    avatar_id = await demo_avatar_id(session, avatar)
    page = (
        _landing_template()
        .replace("{{plans}}", _plan_options())
        .replace("{{widget}}", _widget_block(avatar_id, avatar))
    )
    return HTMLResponse(
        page,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": LANDING_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )
