"""The room page in a real browser: Chromium's fake microphone plays recorded speech.

Bob speaks into his room page; Dave, logged in on another browser context, reads the
captions on his. Everything between them is real: Daphne, the consumer, the model,
Redis and PostgreSQL. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, expect, sync_playwright

from meetings.models import Segment
from tests.servers import ROOT, daphne_server, free_port
from tests.speech import clip, word_error_rate

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SPOKEN = clip("A_LS_1089-134691-0001")  # "for a full hour he had paced up and down waiting..."
SPOKEN_SECONDS = len(SPOKEN.pcm16()[0]) / 2 / SPOKEN.pcm16()[1]
ROOM = "/m/weekly-sync/"

# Show the JavaScript of the page when a test fails: it is where browser bugs surface.
_console: list[str] = []


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-device-for-media-stream",
                # played once, then silence: the speaker pauses and the final follows
                f"--use-file-for-fake-audio-capture={SPOKEN.path}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()
    print("\n".join(_console))


DESKTOP = {"viewport": {"width": 1000, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def logged_in_page(
    browser: Browser, base: str, username: str, *, microphone: bool, device: dict = DESKTOP
) -> Page:
    context = browser.new_context(base_url=base, **device)
    if microphone:
        context.grant_permissions(["microphone"])
    page = context.new_page()
    page.on("console", lambda message: _console.append(f"{username}: {message.text}"))
    page.on("pageerror", lambda error: _console.append(f"{username} error: {error}"))
    page.goto(f"/accounts/login/?next={ROOM}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{ROOM}")
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
    return page


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def record_caption_classes(page: Page) -> None:
    """Remember every caption line the page ever showed, partial or final."""
    page.evaluate(
        """() => {
          window.seenCaptions = [];
          new MutationObserver((changes) => {
            for (const change of changes)
              for (const node of change.addedNodes)
                if (node.classList) window.seenCaptions.push(node.className);
          }).observe(document.getElementById("captions"), {childList: true});
        }"""
    )


def final_text(page: Page) -> str:
    return " ".join(page.locator("#captions .caption.final .text").all_inner_texts())


def test_a_listener_reads_what_the_speaker_says(live_cast, browser):
    with daphne_server() as base:
        dave = logged_in_page(browser, base, "dave", microphone=False, device=PHONE)
        record_caption_classes(dave)
        expect(dave.get_by_role("button", name="Start microphone")).to_have_count(0)

        bob = logged_in_page(browser, base, "bob", microphone=True)
        expect(dave.locator("#participants li.present")).to_have_count(2)
        bob.get_by_role("button", name="Start microphone").click()
        expect(bob.get_by_role("button", name="Stop microphone")).to_be_visible()

        # The level meter moves while the clip plays.
        loudest = 0.0
        deadline = time.monotonic() + SPOKEN_SECONDS
        while time.monotonic() < deadline:
            loudest = max(loudest, bob.locator("#mic-level").evaluate("m => m.value"))
            time.sleep(0.2)
        assert loudest > 0.3

        def heard_everything() -> bool:
            return word_error_rate(SPOKEN.reference, final_text(dave)) <= 0.2

        wait_for(heard_everything, timeout=30)
        screenshot(dave, "room-listener-phone")
        assert dave.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        screenshot(bob, "room-speaker")

        text = final_text(dave)
        assert word_error_rate(SPOKEN.reference, text) <= 0.2
        assert final_text(bob) == text
        assert dave.locator("#captions .caption.partial").count() == 0
        assert "caption partial" in dave.evaluate("window.seenCaptions"), "no partial was shown"
        speakers = {
            s.strip() for s in dave.locator("#captions .caption .speaker").all_inner_texts()
        }
        assert speakers == {"Bob:"}

        stored = off_the_event_loop(
            lambda: list(
                Segment.objects.filter(meeting=live_cast.meeting)
                .select_related("speaker")
                .order_by("start_ms")
            )
        )
        assert " ".join(s.text for s in stored) == text
        assert all(0 < s.confidence <= 1 and s.speaker == live_cast.bob for s in stored)

        bob.get_by_role("button", name="Stop microphone").click()
        expect(bob.get_by_role("button", name="Start microphone")).to_be_visible()


def test_a_denied_microphone_is_explained(live_cast, browser):
    with daphne_server() as base:
        bob = logged_in_page(browser, base, "bob", microphone=False)
        bob.get_by_role("button", name="Start microphone").click()
        expect(bob.get_by_role("alert")).to_contain_text("Microphone access was denied")
        expect(bob.get_by_role("button", name="Start microphone")).to_be_enabled()
        screenshot(bob, "room-microphone-denied")


def test_the_page_reconnects_after_the_server_restarts(live_cast, browser):
    port = free_port()
    with daphne_server(port=port) as base:
        dave = logged_in_page(browser, base, "dave", microphone=False)
    status = dave.locator("#connection-status")
    expect(status).to_contain_text("Reconnecting", timeout=10_000)
    screenshot(dave, "room-reconnecting")
    with daphne_server(port=port):
        expect(status).to_have_text("Connected", timeout=40_000)
        expect(dave.get_by_role("alert")).to_be_hidden()


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
