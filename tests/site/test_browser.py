"""The landing page and the chat widget in a real browser (headless Chromium via Playwright),
against the real site app served by uvicorn on loopback; plus the HTTP behaviour of the pages.

The browser tests are skipped when `/usr/bin/chromium` or the `playwright` package is missing
(`.ci/run` installs Chromium). Playwright's browsers are never downloaded: the system Chromium
is driven through `executable_path`.

The server runs in the test's own event loop rather than in a thread (`ServerThread`): the
runtime's database pool and Redis client belong to the loop that opened them, and PostgreSQL
connections fail when used from another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from parmenid.runtime import Runtime
from parmenid.site.app import create_app
from parmenid.site.chat.models import ChatSession
from parmenid.site.leads.models import PlanRequest
from tests.fakes.server import free_port
from tests.site.chat_support import make_avatar
from tests.site.support import LEAD_RATE_LIMIT_TEXT, MISSING_CONTACT_TEXT, USER_EXISTS_TEXT

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LEAD_DONE_TEXT = "Спасибо за заявку! Мы свяжемся с вами в течение 24 часов."
NETWORK_TEXT = "Ошибка сети. Проверьте подключение."
RATE_TEXT = "Слишком много запросов. Попробуйте позже."
QUESTION = "Сколько стоит тариф Pro?"
WELCOME = "Здравствуйте! Чем могу помочь?"
TIMEOUT_MS = 10_000


# Another site that embeds the widget (the usual case) is served here; the site API lists it
# among its CORS origins.
EMBEDDING_PORT = free_port()
EMBEDDING_ORIGIN = f"http://127.0.0.1:{EMBEDDING_PORT}"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"site": {"cors_origins": [EMBEDDING_ORIGIN]}}


# ---------------------------------------------------------------- servers and browser


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """`app` on a loopback port, served by uvicorn in this event loop; yields its base URL."""
    port = port or free_port()
    server = _Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def site(runtime: Runtime) -> AsyncIterator[str]:
    async with serve(create_app(runtime)) as url:
        yield url


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Headless system Chromium."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    async_api = pytest.importorskip(
        "playwright.async_api", reason="the playwright package is missing (pip install playwright)"
    )
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=20_000
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def browser(site: str, chromium: Browser) -> Browser:
    """Chromium for a test of the site (started after the server, closed before it stops)."""
    return chromium


class PageProblems:
    """Uncaught script errors and CSP violations seen by a page (both mean a broken page)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(f"csp: {message.text}")

    def check(self) -> None:
        assert not self.errors, self.errors


@contextlib.asynccontextmanager
async def new_page(browser: Browser) -> AsyncIterator[tuple[Page, PageProblems]]:
    context = await browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    problems = PageProblems(page)
    try:
        yield page, problems
    finally:
        await context.close()


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


# ---------------------------------------------------------------- the landing page's forms


async def submit(
    page: Page, form: str, fields: dict[str, str], expected: str | re.Pattern[str]
) -> None:
    """Fill `fields` of the form matched by `form`, submit it, and wait for the status text."""
    scope = page.locator(form)
    for name, value in fields.items():
        await scope.locator(f'[name="{name}"]').fill(value)
    await scope.locator("button[type=submit]").click()
    await expect(scope.locator(".status")).to_have_text(expected)


async def test_lead_forms_submit_and_the_sixth_request_is_refused(
    browser: Browser, site: str, runtime: Runtime
) -> None:
    hero = "form[data-lead=demo_request]"
    pricing = "form[data-lead=plan_upgrade]"
    footer = "form[data-lead=contact_sales]"
    async with new_page(browser) as (page, problems):
        await page.goto(site + "/")
        await expect(page.locator("h1")).to_contain_text("AI-консультант")

        await submit(page, hero, {"contact_email": "hero@company.com"}, LEAD_DONE_TEXT)

        await page.locator(pricing).get_by_text("Scale", exact=True).click()
        await submit(page, pricing, {"contact_email": "plan@company.com"}, LEAD_DONE_TEXT)

        # No contact: the server's 422 message is shown, and it does not use up the quota.
        await submit(page, footer, {}, MISSING_CONTACT_TEXT)
        await expect(page.locator(footer).locator(".status")).to_have_attribute("role", "alert")
        await submit(
            page,
            footer,
            {"contact_telegram": "@parmenid_demo", "message": "Хотим обсудить"},
            LEAD_DONE_TEXT,
        )

        for n in (4, 5):
            await submit(page, hero, {"contact_email": f"hero{n}@company.com"}, LEAD_DONE_TEXT)
        await submit(page, hero, {"contact_email": "hero6@company.com"}, LEAD_RATE_LIMIT_TEXT)
        problems.check()

    async with runtime.db.session() as session:
        leads = (await session.scalars(select(PlanRequest))).all()
    kinds = sorted((lead.request_type, lead.requested_plan) for lead in leads)
    assert kinds == [
        ("contact_sales", None),
        ("demo_request", None),
        ("demo_request", None),
        ("demo_request", None),
        ("plan_upgrade", "scale"),
    ]
    telegram = next(lead for lead in leads if lead.request_type == "contact_sales")
    assert telegram.contact_telegram == "@parmenid_demo"
    assert telegram.message == "Хотим обсудить"


async def test_registration_and_login_forms(browser: Browser, site: str) -> None:
    register = "form[data-auth=register]"
    login = "form[data-auth=login]"
    account = {"email": "new.user@company.com", "password": "SecurePass123!"}
    async with new_page(browser) as (page, problems):
        await page.goto(site + "/#account")
        await submit(
            page,
            register,
            {"full_name": "Иван Петров", **account},
            "Регистрация прошла успешно! Мы отправили письмо для подтверждения email.",
        )
        await submit(page, register, account, USER_EXISTS_TEXT)

        status = page.locator(login).locator(".status")
        await page.locator(login).locator('[name="email"]').fill(account["email"])
        await page.locator(login).locator('[name="password"]').fill("WrongPass123!")
        await page.locator(login).locator("button[type=submit]").click()
        await expect(status).to_have_class(re.compile(r"\bbad\b"))
        await expect(status).not_to_be_empty()

        await submit(page, login, account, re.compile("Вы вошли в систему"))
        # The tokens are not kept anywhere a script of the page could read them later.
        storage = await page.evaluate("() => JSON.stringify(window.localStorage)")
        assert "token" not in storage
        problems.check()


# ---------------------------------------------------------------- the chat widget


async def open_widget(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("Открыть чат")).click()
    await expect(page.get_by_role("dialog")).to_be_visible()


async def test_widget_streams_an_answer_with_sources_and_restores_it_after_a_reload(
    browser: Browser, site: str, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime, primary_color="#0F766E")
    async with new_page(browser) as (page, problems):
        await page.goto(site + "/")
        bubble = page.get_by_role("button", name=re.compile("Открыть чат: AI Консультант"))
        await expect(bubble).to_have_css("background-color", "rgb(15, 118, 110)")
        await open_widget(page)
        dialog = page.get_by_role("dialog", name="AI Консультант")
        await expect(dialog).to_contain_text(WELCOME)
        await expect(dialog).to_contain_text("Помогу ответить на вопросы о платформе")

        # Count the text updates of the answer: it is drawn as the chunks arrive.
        await page.evaluate(
            """() => {
              const root = document.querySelector('[data-parmenid-widget]').shadowRoot;
              window.__updates = 0;
              new MutationObserver((records) => {
                window.__updates += records.filter((r) => r.type === 'characterData').length;
              }).observe(root, {subtree: true, characterData: true});
            }"""
        )
        await page.get_by_label("Ваш вопрос").fill(QUESTION)
        await page.keyboard.press("Enter")

        answer = page.locator(".pw-bot").nth(1)
        await expect(answer).to_contain_text("2900")
        sources = answer.locator(".pw-source")
        await expect(sources.first).to_contain_text("parmenid")
        await expect(answer.locator(".pw-sources")).to_contain_text("Тариф Pro стоит 2900")
        assert await page.evaluate("() => window.__updates") > 1

        # Prices were asked about: the bot offers to take a contact.
        lead = page.locator("form.pw-lead")
        await lead.get_by_label("Email или Telegram").fill("client@company.com")
        await lead.get_by_role("button", name="Отправить").click()
        await expect(lead.locator(".pw-note")).to_have_text(LEAD_DONE_TEXT)

        stored = await page.evaluate(f"() => localStorage.getItem('parmenid-chat:{avatar_id}')")
        session_id = json.loads(stored)["session"]

        await page.reload()
        dialog = page.get_by_role("dialog", name="AI Консультант")
        await expect(dialog).to_be_visible()  # it was open when the page was left
        await expect(dialog.locator(".pw-user")).to_have_text(re.compile(re.escape(QUESTION)))
        restored = dialog.locator(".pw-bot").nth(1)
        await expect(restored).to_contain_text("2900")
        await expect(restored.locator(".pw-source").first).to_contain_text("parmenid")
        await expect(restored.locator(".pw-sources")).to_contain_text("Тариф Pro стоит 2900")
        await expect(dialog.locator("form.pw-lead")).to_have_count(0)  # already sent
        await expect(page.locator(".pw-error")).to_have_count(0)
        problems.check()

    async with runtime.db.session() as session:
        sessions = await session.scalar(select(func.count()).select_from(ChatSession))
        lead_row = await session.scalar(select(PlanRequest))
    assert sessions == 1  # the reload continued the conversation
    assert lead_row is not None
    assert lead_row.request_type == "demo_request"
    assert lead_row.contact_email == "client@company.com"
    assert str(lead_row.chat_session_id) == session_id


async def test_widget_forgets_a_session_the_server_does_not_know(
    browser: Browser, site: str, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime)
    async with new_page(browser) as (page, problems):
        stale = json.dumps({"session": str(uuid.uuid4()), "open": True})
        await page.add_init_script(
            f"localStorage.setItem('parmenid-chat:{avatar_id}', {json.dumps(stale)})"
        )
        await page.goto(site + "/")
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text(WELCOME)
        await page.get_by_label("Ваш вопрос").fill("Что умеет PresentAI?")
        await dialog.get_by_role("button", name="Отправить сообщение").click()
        await expect(dialog.locator(".pw-bot").nth(1)).to_contain_text("презентации")
        await expect(page.locator(".pw-error")).to_have_count(0)
        problems.check()
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ChatSession)) == 1


def embedding_site(api: str, avatar_id: uuid.UUID) -> Starlette:
    """A page of another site with the widget's one-line embed code."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang=ru><head><title>Магазин</title></head><body>"
            "<h1>Другой сайт</h1>"
            f'<script src="{api}/widget.js" data-avatar-id="{avatar_id}" async></script>'
            "</body></html>"
        )

    return Starlette(routes=[Route("/", page)])


async def test_widget_works_embedded_in_another_site(
    browser: Browser, site: str, runtime: Runtime
) -> None:
    avatar_id = await make_avatar(runtime)
    host = embedding_site(site, avatar_id)
    async with serve(host, EMBEDDING_PORT) as url, new_page(browser) as (page, problems):
        assert url == EMBEDDING_ORIGIN
        await page.goto(url + "/")
        await open_widget(page)
        await page.get_by_label("Ваш вопрос").fill(QUESTION)
        await page.keyboard.press("Enter")
        answer = page.locator(".pw-bot").nth(1)
        await expect(answer).to_contain_text("2900")
        await expect(answer.locator(".pw-source").first).to_contain_text("parmenid")
        lead = page.locator("form.pw-lead")
        await lead.get_by_label("Email или Telegram").fill("@client_name")
        await lead.get_by_role("button", name="Отправить").click()
        await expect(lead.locator(".pw-note")).to_have_text(LEAD_DONE_TEXT)
        problems.check()
    async with runtime.db.session() as session:
        chat = await session.scalar(select(ChatSession))
        lead_row = await session.scalar(select(PlanRequest))
    assert chat is not None
    assert chat.origin == EMBEDDING_ORIGIN
    assert lead_row is not None
    assert lead_row.contact_telegram == "@client_name"


# A chat API whose stream arrives in awkward pieces (CRLF line ends, frames and UTF-8 characters
# split across network chunks, a comment, multi-line data), then an error event, then a 429
# with no body, then a dropped connection.

FAKE_AVATAR = "11111111-2222-4333-8444-555555555555"
SPLIT_STREAM = (
    ": keep-alive\r\n\r\n"
    'event: message_received\r\ndata: {"message_id": "m1"}\r\n\r\n'
    'event: sources\r\ndata: {"sources": [{"document_id": "d1", "document": "Прайс.pdf", '
    '"location": {}, "snippet": "Тариф <b>Pro</b> — 2900 ₽", "score": 1.0}]}\r\n\r\n'
    'event: chunk\r\ndata: {"content":\r\ndata: "Привет, "}\r\n\r\n'
    'event: chunk\r\ndata: {"content": "мир! ✓ <img src=x onerror=alert(1)>"}\r\n\r\n'
    'event: done\r\ndata: {"message_id": "m2", "tokens_used": 3, "lead_offer": false}\r\n\r\n'
).encode()
ERROR_STREAM = (
    'event: message_received\ndata: {"message_id": "m3"}\n\n'
    'event: error\ndata: {"message_id": "m4", "code": "LLM_UNAVAILABLE", '
    '"message": "Сервис ответов временно недоступен."}\n\n'
).encode()


def fake_chat_api() -> Starlette:
    widget = (files("parmenid.site.ui") / "static" / "widget.js").read_bytes()
    questions: list[str] = []

    async def page(request: Request) -> HTMLResponse:
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(
            "<!doctype html><html lang=ru><body><h1>Чужой сайт</h1>"
            f'<script src="/static/widget.js" data-avatar-id="{FAKE_AVATAR}" '
            f'data-api-base="{base}/api/v1/"></script></body></html>'
        )

    async def script(request: Request) -> Response:
        return Response(widget, media_type="text/javascript")

    async def info(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "id": FAKE_AVATAR,
                "name": "Бот <script>",
                "description": None,
                "avatar_image_url": "javascript:alert(1)",
                "primary_color": "red;}body{display:none",
                "welcome_message": "Привет!",
            }
        )

    async def sessions(request: Request) -> JSONResponse:
        return JSONResponse({"id": str(uuid.uuid4())}, status_code=201)

    async def stream(request: Request) -> Response:
        questions.append((await request.json())["content"])
        if len(questions) == 2:
            return Response(ERROR_STREAM, media_type="text/event-stream")
        if len(questions) == 3:
            return Response(status_code=429)

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(SPLIT_STREAM), 5):
                yield SPLIT_STREAM[start : start + 5]
                await asyncio.sleep(0.002)

        return StreamingResponse(pieces(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/", page),
            Route("/static/widget.js", script),
            Route(f"/api/v1/chat/{FAKE_AVATAR}/info", info),
            Route(f"/api/v1/chat/{FAKE_AVATAR}/sessions", sessions, methods=["POST"]),
            Route(f"/api/v1/chat/{FAKE_AVATAR}/stream", stream, methods=["POST"]),
        ]
    )


async def test_widget_reads_split_sse_frames_and_shows_every_kind_of_failure(
    chromium: Browser,
) -> None:
    async with serve(fake_chat_api()) as url, new_page(chromium) as (page, problems):
        await page.goto(url + "/")
        await open_widget(page)
        dialog = page.get_by_role("dialog", name="Бот <script>")
        await expect(dialog.locator("img")).to_have_count(0)  # a javascript: URL is not shown
        question = page.get_by_label("Ваш вопрос")

        await question.fill("Первый")
        await question.press("Enter")
        answer = dialog.locator(".pw-bot").nth(1)
        await expect(answer).to_contain_text("Привет, мир! ✓ <img src=x onerror=alert(1)>")
        await expect(answer.locator(".pw-source")).to_contain_text("Прайс.pdf")
        await expect(answer.locator(".pw-source")).to_contain_text("Тариф <b>Pro</b> — 2900 ₽")
        # Server text is never parsed as HTML.
        await expect(answer.locator("img")).to_have_count(0)
        await expect(answer.locator(".pw-source b")).to_have_count(1)

        await question.fill("Второй")
        await question.press("Enter")
        await expect(dialog.locator(".pw-error").last).to_have_text(
            re.compile("Сервис ответов временно недоступен.")
        )

        await question.fill("Третий")
        await question.press("Enter")
        await expect(dialog.locator(".pw-error").last).to_have_text(re.compile(RATE_TEXT))

        await page.route("**/stream*", lambda route: route.abort())
        await question.fill("Четвёртый")
        await question.press("Enter")
        await expect(dialog.locator(".pw-error").last).to_have_text(re.compile(NETWORK_TEXT))
        await expect(page.locator("h1")).to_be_visible()  # the bad colour broke nothing
        problems.check()


# ---------------------------------------------------------------- HTTP behaviour of the pages


async def test_widget_script_is_served_with_cache_validators(
    site_client: httpx.AsyncClient,
) -> None:
    response = await site_client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=3600" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "data-avatar-id" in response.text
    etag = response.headers["etag"]

    again = await site_client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    head = await site_client.head("/widget.js")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(response.content))


async def test_landing_page_embeds_the_first_active_avatar_or_the_one_asked_for(
    site_client: httpx.AsyncClient, runtime: Runtime
) -> None:
    empty = await site_client.get("/")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in empty.headers["content-security-policy"]
    assert "/widget.js" not in empty.text
    assert "parmenid demo seed" in empty.text
    for plan in ("free", "starter", "growth", "scale", "enterprise"):
        assert f'value="{plan}"' in empty.text

    first = await make_avatar(runtime, knowledge=None)
    second = await make_avatar(runtime, knowledge=None)
    shown = await site_client.get("/")
    assert f'data-avatar-id="{first}"' in shown.text
    asked = await site_client.get("/", params={"avatar": str(second)})
    assert f'data-avatar-id="{second}"' in asked.text
    for wanted in (str(uuid.uuid4()), "not-a-uuid"):
        missing = await site_client.get("/", params={"avatar": wanted})
        assert missing.status_code == 200
        assert "/widget.js" not in missing.text
        assert "parmenid demo seed" in missing.text

    assets = await site_client.get("/assets/landing.js")
    assert assets.headers["content-type"] == "text/javascript; charset=utf-8"
    assert (await site_client.get("/assets/landing.css")).status_code == 200
    assert (await site_client.get("/assets/nothing.js")).status_code == 404


async def test_production_serves_the_widget_but_not_the_demo_page(
    site_client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "environment", "production")
    page = await site_client.get("/")
    assert page.status_code == 404
    assert page.json()["error"]["code"] == "NOT_FOUND"
    assert (await site_client.get("/assets/landing.js")).status_code == 404
    assert (await site_client.get("/widget.js")).status_code == 200
