"""What the browser tests share: Debian's Chromium, logging in, screenshots, waiting."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from tests.servers import ROOT
from tests.speech import clip

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SPOKEN = clip("A_LS_1089-134691-0001")  # "for a full hour he had paced up and down waiting..."
#: what the servers' scripted engine says for each utterance it hears (tests/servers.py), as in
#: the test process: the captions of SPOKEN, in a test that did not ask for `whisper`
SCRIPTED = settings.SCRIPTED_ENGINE_LINES[0]
ROOM = "/m/weekly-sync/"
DESKTOP = {"viewport": {"width": 1000, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

#: every page's console, printed when a test ends: it is where browser bugs surface
CONSOLE: list[str] = []


def logged_in_page(
    browser: Browser,
    base: str,
    username: str,
    *,
    microphone: bool,
    device: dict = DESKTOP,
    init_script: str | None = None,
    room: str = ROOM,
) -> Page:
    """A new browser context logged in as `username`, on the room page, connected."""
    context = browser.new_context(base_url=base, **device)
    if microphone:
        context.grant_permissions(["microphone"])
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.on("console", lambda message: CONSOLE.append(f"{username}: {message.text}"))
    page.on("pageerror", lambda error: CONSOLE.append(f"{username} error: {error}"))
    page.goto(f"/accounts/login/?next={room}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{room}")
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
    return page


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def off_the_event_loop(query):
    """Playwright's sync API runs an event loop in this thread, where the ORM may not run."""

    def run():
        try:
            return query()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.25)


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation on the page as it is now."""
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
