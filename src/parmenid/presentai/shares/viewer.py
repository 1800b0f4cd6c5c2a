"""`/share/{token}`: the viewer page of a shared deck, server-rendered, for anyone with the link.

The page lists every slide in the HTML (without JavaScript they read top to bottom); its
script (`/share/assets/viewer.js`, no third-party code) shows one slide at a time on a 16:9
stage, moves with ←/→, PageUp/PageDown, Space, Home/End, swipes and buttons, keeps the slide
number in the address (`#3`), and reports the time spent on each slide to the view API.

A password-protected link shows a form that posts the password to the page itself (never in a
URL); the right one renders the deck with a short-lived access token for the analytics calls.
Unknown, revoked, expired and rate-limited links get a page that says so, in Russian or English
(`Accept-Language`). Every page carries a strict Content-Security-Policy and the headers of the
public share API (no-store, no-referrer, noindex).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from parmenid.core.errors import AppError, Gone, NotFound, RateLimited, Text, Unauthorized
from parmenid.core.web import preferred_language
from parmenid.presentai.authz import Public
from parmenid.presentai.shares.access import (
    SECURITY_HEADERS,
    check_password,
    keys_of,
    public_request,
)
from parmenid.presentai.shares.schemas import SharedDeckOut, SharedSlide
from parmenid.presentai.shares.service import ShareService
from parmenid.webapp import RuntimeDep, SessionDep, ip_of

router = APIRouter(include_in_schema=False, dependencies=[Public])

API_PREFIX = "/api/v1"
ASSET_CACHE = "public, max-age=300"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MAX_FORM_BYTES = 4096

WORDS = {
    "slide": Text("Slide", "Слайд"),
    "prev": Text("Previous slide", "Предыдущий слайд"),
    "next": Text("Next slide", "Следующий слайд"),
    "controls": Text("Slide navigation", "Навигация по слайдам"),
    "sources": Text("Sources", "Источники"),
    "keys": Text(
        "Keys: ← → to move, Home and End for the first and the last slide",
        "Клавиши: ← → — листать, Home и End — первый и последний слайд",
    ),
    "empty": Text("This presentation has no slides yet.", "В этой презентации пока нет слайдов."),
    "slides": Text("slides", "слайдов"),
    "not_found_title": Text("Link not found", "Ссылка не найдена"),
    "not_found": Text(
        "This link does not exist or its owner has revoked it. Check the address, or ask "
        "the person who shared the presentation for a new link.",
        "Такой ссылки нет, или автор её отозвал. Проверьте адрес или попросите того, кто "
        "поделился презентацией, прислать новую ссылку.",
    ),
    "expired_title": Text("This link has expired", "Срок действия ссылки истёк"),
    "expired": Text(
        "The presentation was shared for a limited time. Ask its author for a new link.",
        "Презентацией поделились на ограниченное время. Попросите автора прислать новую ссылку.",
    ),
    "busy_title": Text("Too many requests", "Слишком много запросов"),
    "busy": Text(
        "Please wait a minute and open the link again.",
        "Подождите минуту и откройте ссылку снова.",
    ),
    "bad_title": Text("The request could not be read", "Не удалось прочитать запрос"),
    "bad": Text("Open the link again.", "Откройте ссылку ещё раз."),
    "locked_title": Text("This presentation is protected", "Презентация защищена паролем"),
    "locked": Text(
        "Enter the password you were given with the link.",
        "Введите пароль, который вам передали вместе со ссылкой.",
    ),
    "password": Text("Password", "Пароль"),
    "open": Text("Open", "Открыть"),
    "wrong": Text("Wrong password. Try again.", "Неверный пароль. Попробуйте ещё раз."),
    "too_many": Text(
        "Too many wrong passwords. Try again in a few minutes.",
        "Слишком много неверных паролей. Попробуйте через несколько минут.",
    ),
}


def _word(key: str, lang: str) -> str:
    return html.escape(WORDS[key].get(lang))


# -- assets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _assets() -> dict[str, Asset]:
    found = {}
    for name, media_type in (
        ("viewer.js", "text/javascript; charset=utf-8"),
        ("viewer.css", "text/css; charset=utf-8"),
    ):
        body = (files("parmenid.presentai.shares") / "static" / name).read_bytes()
        found[name] = Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return found


@router.api_route("/share/assets/{name}", methods=["GET", "HEAD"])
async def viewer_asset(name: str, request: Request) -> Response:
    """The viewer page's script and styles."""
    asset = _assets().get(name)
    if asset is None:
        raise HTTPException(404)
    headers = {
        "Cache-Control": ASSET_CACHE,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
    }
    tags = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("if-none-match", "").split(",")
    }
    if asset.etag in tags:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.media_type, headers=headers)
    response.headers["Content-Length"] = str(len(asset.body))
    return response


# -- pages -----------------------------------------------------------------------------------


def _document(
    lang: str, title: str, body: str, status: int, headers: dict[str, str] | None = None
) -> HTMLResponse:
    page = (
        "<!doctype html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="stylesheet" href="/share/assets/viewer.css">\n'
        '<script src="/share/assets/viewer.js" defer></script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return HTMLResponse(page, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def _notice(
    lang: str,
    heading: str,
    text: str,
    status: int,
    headers: dict[str, str] | None = None,
    extra: str = "",
) -> HTMLResponse:
    body = (
        '<main class="notice">\n<div class="notice-card">\n'
        f"<h1>{heading}</h1>\n<p>{text}</p>\n{extra}</div>\n</main>"
    )
    return _document(lang, html.unescape(heading), body, status, headers)


def _error_page(error: AppError, lang: str) -> HTMLResponse:
    if isinstance(error, NotFound):
        return _notice(lang, _word("not_found_title", lang), _word("not_found", lang), 404)
    if isinstance(error, Gone):
        return _notice(lang, _word("expired_title", lang), _word("expired", lang), 410)
    if isinstance(error, RateLimited):
        headers = {k: v for k, v in error.headers.items() if k.lower() == "retry-after"}
        return _notice(lang, _word("busy_title", lang), _word("busy", lang), 429, headers)
    return _notice(lang, _word("bad_title", lang), _word("bad", lang), 400)


def _password_page(
    token: str,
    lang: str,
    status: int,
    problem: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    alert = f'<p class="form-error" role="alert">{_word(problem, lang)}</p>\n' if problem else ""
    form = (
        f'<form class="unlock" method="post" action="/share/{html.escape(token)}">\n'
        f'<label for="share-password">{_word("password", lang)}</label>\n'
        '<div class="unlock-row">'
        '<input id="share-password" name="password" type="password" required maxlength="128" '
        'autocomplete="current-password" autofocus>'
        f'<button type="submit">{_word("open", lang)}</button></div>\n{alert}</form>\n'
    )
    return _notice(
        lang, _word("locked_title", lang), _word("locked", lang), status, headers, extra=form
    )


def _slide(slide: SharedSlide, total: int, lang: str) -> str:
    notes: dict[str, int] = {}
    lines: list[str] = []
    for bullet in slide.bullets:
        mark = ""
        if bullet.citation:
            number = notes.setdefault(bullet.citation, len(notes) + 1)
            mark = f'<sup class="ref">{number}</sup>'
        lines.append(f"{html.escape(bullet.text)}{mark}")
    title = f'<h2 class="slide-title">{html.escape(slide.title)}</h2>' if slide.title else ""
    if slide.layout == "quote" and lines:
        content = f'<blockquote class="quote"><p>{lines[0]}</p></blockquote>' + "".join(
            f'<p class="quote-by">{line}</p>' for line in lines[1:]
        )
    elif slide.layout in ("title", "section", "closing"):
        content = "".join(f'<p class="subtitle">{line}</p>' for line in lines)
    else:
        content = (
            '<ul class="bullets">' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"
            if lines
            else ""
        )
    content += _data(slide, notes)
    footnotes = ""
    if notes:
        items = "".join(
            f'<li value="{number}">{html.escape(citation)}</li>'
            for citation, number in notes.items()
        )
        footnotes = f'<ol class="footnotes" aria-label="{_word("sources", lang)}">{items}</ol>'
    number = slide.slide_number
    label = html.escape(f"{number} / {total}" + (f": {slide.title}" if slide.title else ""))
    return (
        f'<section class="slide layout-{slide.layout}" id="slide-{number}" data-slide="{number}" '
        f'aria-roledescription="{_word("slide", lang)}" aria-label="{label}">\n'
        f'<div class="slide-body">{title}{content}</div>\n'
        f'<footer class="slide-foot">{footnotes}<span class="slide-no">{number}</span></footer>\n'
        "</section>"
    )


def _data(slide: SharedSlide, notes: dict[str, int]) -> str:
    """A slide's table, or its chart as a table of its values with a `<meter>` bar per value
    (no scripts or inline styles: the page's CSP allows neither)."""
    mark = ""
    if slide.data_source:
        number = notes.setdefault(slide.data_source, len(notes) + 1)
        mark = f'<sup class="ref">{number}</sup>'
    if slide.table is not None:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in slide.table.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in slide.table.rows
        )
        return (
            f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{mark}'
        )
    if slide.chart is not None:
        series = slide.chart.series
        top = max((v for s in series for v in s.values), default=0.0) or 1.0
        head = "<th></th>" + "".join(f"<th>{html.escape(s.name)}</th>" for s in series)
        rows = []
        for index, category in enumerate(slide.chart.categories):
            cells = []
            for item in series:
                value = item.values[index] if index < len(item.values) else 0.0
                shown = f"{value:g}"
                cells.append(
                    f'<td><meter min="0" max="{top:g}" value="{max(value, 0.0):g}" '
                    f'title="{shown}">{shown}</meter> {shown}</td>'
                )
            rows.append(f"<tr><th>{html.escape(category)}</th>{''.join(cells)}</tr>")
        return (
            f'<table class="data chart"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{mark}"
        )
    return ""


def _deck_page(token: str, deck: SharedDeckOut, lang: str, access: str = "") -> HTMLResponse:
    total = deck.slide_count
    if not deck.slides:
        return _notice(lang, html.escape(deck.title), _word("empty", lang), 200)
    slides = "\n".join(_slide(slide, total, lang) for slide in deck.slides)
    api = f"{API_PREFIX}/share/{token}"
    body = (
        f'<main class="viewer" data-viewer data-api="{html.escape(api)}" '
        f'data-access="{html.escape(access)}" data-total="{total}">\n'
        '<header class="topbar">'
        f'<h1 class="deck-title">{html.escape(deck.title)}</h1>'
        f'<p class="counter" aria-live="polite" data-counter>{total} {_word("slides", lang)}</p>'
        "</header>\n"
        f'<div class="stage-wrap"><div class="stage" lang="{html.escape(deck.language or lang)}">\n'
        f"{slides}\n</div></div>\n"
        f'<nav class="controls" aria-label="{_word("controls", lang)}">'
        f'<button type="button" class="nav" data-go="prev" aria-label="{_word("prev", lang)}" '
        f'title="{_word("prev", lang)}">&larr;</button>'
        '<div class="progress" aria-hidden="true"><span data-progress></span></div>'
        f'<button type="button" class="nav" data-go="next" aria-label="{_word("next", lang)}" '
        f'title="{_word("next", lang)}">&rarr;</button>'
        "</nav>\n"
        f'<p class="keys">{_word("keys", lang)}</p>\n'
        "</main>"
    )
    return _document(lang, deck.title, body, 200)


@router.get("/share/{token}", response_class=HTMLResponse)
async def viewer_page(
    token: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The deck behind a public link, or the page that says why it cannot be shown."""
    lang = preferred_language(request)
    service = ShareService(session, keys_of(runtime))
    try:
        await public_request(runtime, ip_of(request))
        share, presentation = await service.resolve(token, {})
    except AppError as error:
        return _error_page(error, lang)
    if share.password_hash is not None:
        return _password_page(token, lang, 401)
    return _deck_page(token, await service.deck(share, presentation), lang)


@router.post("/share/{token}", response_class=HTMLResponse)
async def viewer_unlock(
    token: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The password form's target: the deck for the right password, the form again else."""
    lang = preferred_language(request)
    ip = ip_of(request)
    service = ShareService(session, keys_of(runtime))
    try:
        await public_request(runtime, ip)
        share, presentation = await service.resolve(token, {})
    except AppError as error:
        return _error_page(error, lang)
    if share.password_hash is None:
        return _deck_page(token, await service.deck(share, presentation), lang)
    password = await _posted_password(request)
    if password is None:
        return _password_page(token, lang, 400, "wrong")
    try:
        await check_password(runtime, share, password, ip)
    except RateLimited as error:
        retry = {k: v for k, v in error.headers.items() if k.lower() == "retry-after"}
        return _password_page(token, lang, 429, "too_many", retry)
    except Unauthorized:
        return _password_page(token, lang, 401, "wrong")
    ttl = runtime.settings.presentai.share_access_ttl_seconds
    access, _ = service.keys.access_token(share.id, ttl)
    return _deck_page(token, await service.deck(share, presentation), lang, access)


async def _posted_password(request: Request) -> str | None:
    """The `password` of an urlencoded form, or None when the body is anything else."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if media_type != "application/x-www-form-urlencoded" or len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get("password", [])
    return values[0] if len(values) == 1 and 0 < len(values[0]) <= 1024 else None
