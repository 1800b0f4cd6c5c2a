"""The viewer page of a public share link in a real browser (headless Chromium via Playwright),
against the PresentAI app served by uvicorn on loopback: keyboard navigation, the password
form, and the time per slide that the page reports to the analytics.

Skipped when `/usr/bin/chromium` or the `playwright` package is missing (`.ci/run` installs
Chromium). Playwright's browsers are never downloaded: the system Chromium is driven through
`executable_path`. The server runs in the test's own event loop (see tests/site/test_browser.py
for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from parmenid.presentai.app import create_app
from parmenid.runtime import Runtime
from tests.fakes.server import free_port
from tests.presentai.test_shares import PASSWORD, SLIDES, Deck, make_deck, make_share

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 10_000
PORT = free_port()
BASE_URL = f"http://127.0.0.1:{PORT}"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The links the API hands out point at the server the browser opens.
    return {"presentai": {"public_url": BASE_URL}}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner owns the signals
        yield


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[str]:
    """The PresentAI app on `PORT`, served by uvicorn in this event loop."""
    config = uvicorn.Config(
        create_app(runtime),
        host="127.0.0.1",
        port=PORT,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    served = _Server(config)
    task = asyncio.create_task(served.serve())
    async with asyncio.timeout(10):
        while not served.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
    try:
        yield BASE_URL
    finally:
        served.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def browser(server: str) -> AsyncIterator[Browser]:
    """Headless system Chromium (started after the server, closed before it stops)."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    async_api = pytest.importorskip(
        "playwright.async_api", reason="the playwright package is missing (pip install playwright)"
    )
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=20_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@contextlib.asynccontextmanager
async def new_page(browser: Browser, locale: str = "ru-RU") -> AsyncIterator[Page]:
    """A page that fails the test on any script error or Content-Security-Policy violation."""
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"csp: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield page
        assert problems == [], problems
    finally:
        await context.close()


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


async def analytics(client: httpx.AsyncClient, deck: Deck) -> dict[str, Any]:
    response = await client.get(deck.analytics, headers=deck.owner)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def dwell_of(client: httpx.AsyncClient, deck: Deck, wanted: dict[int, int]) -> dict[int, int]:
    """Time per slide once each slide in `wanted` has at least the time given there (the page
    reports a second after a change of slide, so earlier reports may show less); fails after
    ten seconds."""
    async with asyncio.timeout(10):
        while True:
            slides = (await analytics(client, deck))["slides"]
            dwell = {s["slide_number"]: s["total_dwell_ms"] for s in slides}
            if all(dwell[n] >= least for n, least in wanted.items()):
                return dwell
            await asyncio.sleep(0.2)


async def test_keyboard_navigation_and_time_per_slide(
    server: str, browser: Browser, runtime: Runtime, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        deck = await make_deck(client, runtime)
        share = await make_share(client, deck)
        assert share["url"].startswith(server + "/share/")
        async with new_page(browser) as page:
            await page.goto(share["url"])
            current = page.locator(".slide.current")
            counter = page.locator("[data-counter]")
            await expect(counter).to_have_text("1 / 4")
            await expect(current).to_have_attribute("data-slide", "1")
            await expect(current.locator("h2")).to_have_text(SLIDES[0][0])
            await expect(page.locator(".slide:not(.current)").first).to_be_hidden()
            await expect(page.locator('[data-go="prev"]')).to_be_disabled()

            await page.wait_for_timeout(400)
            await page.keyboard.press("ArrowRight")
            await expect(counter).to_have_text("2 / 4")
            await expect(current.locator(".footnotes li")).to_have_count(2)
            await page.wait_for_timeout(400)
            await page.keyboard.press("ArrowRight")
            await expect(counter).to_have_text("3 / 4")
            await expect(current).to_have_attribute("data-slide", "3")
            await expect(current.locator("h2")).to_have_text("Планы")
            assert page.url.endswith("#3")

            # Slides 1 and 2 were each on screen for at least 0.4 s (slide 3 still is).
            dwell = await dwell_of(client, deck, {1: 350, 2: 350})
            assert dwell[1] < 5_000 and dwell[2] < 5_000, dwell
            assert dwell[4] == 0
            report = await analytics(client, deck)
            assert (report["totals"]["views"], report["totals"]["unique_viewers"]) == (1, 1)

            screenshot = Path(os.environ.get("SHARE_VIEWER_SCREENSHOT", tmp_path / "viewer.png"))
            assert len(await page.screenshot(path=str(screenshot))) > 10_000

            for key, shown in [
                ("End", "4 / 4"),
                ("PageUp", "3 / 4"),
                ("Home", "1 / 4"),
                ("PageDown", "2 / 4"),
                ("ArrowLeft", "1 / 4"),
                ("ArrowLeft", "1 / 4"),
            ]:
                await page.keyboard.press(key)
                await expect(counter).to_have_text(shown)
            await page.locator('[data-go="next"]').click()
            await expect(counter).to_have_text("2 / 4")
            await page.keyboard.press("End")
            await expect(page.locator('[data-go="next"]')).to_be_disabled()

            # A link to a slide opens on it.
            await page.goto(share["url"] + "#2")
            await expect(counter).to_have_text("2 / 4")


async def test_password_form_then_the_deck(server: str, browser: Browser, runtime: Runtime) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        deck = await make_deck(client, runtime)
        share = await make_share(client, deck, password=PASSWORD)
        async with new_page(browser, locale="en-US") as page:
            response = await page.goto(share["url"])
            assert response is not None and response.status == 401
            await expect(page.locator("h1")).to_have_text("This presentation is protected")
            await page.locator("#share-password").fill("not the password")
            await page.locator("button[type=submit]").click()
            await expect(page.locator(".form-error")).to_have_text("Wrong password. Try again.")
            await page.locator("#share-password").fill(PASSWORD)
            await page.locator("button[type=submit]").click()
            await expect(page.locator("[data-counter]")).to_have_text("1 / 4")
            assert PASSWORD not in page.url
            await page.keyboard.press("ArrowRight")
            await expect(page.locator("[data-counter]")).to_have_text("2 / 4")
            await dwell_of(client, deck, {1: 1})
            assert (await analytics(client, deck))["totals"]["views"] == 1

        revoked = await client.delete(f"{deck.shares}/{share['id']}", headers=deck.owner)
        assert revoked.status_code == 204
        async with new_page(browser) as page:
            response = await page.goto(share["url"])
            assert response is not None and response.status == 404
            await expect(page.locator("h1")).to_have_text(re.compile("Ссылка не найдена"))
