"""The room page in a real browser: Chromium's fake microphone plays recorded speech.

Bob speaks into his room page; Dave, logged in on another browser context, reads the
captions on his. Everything between them is real: Daphne, the consumer, the model (this test
is about what the model hears: ``whisper``), Redis and PostgreSQL. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from meetings.models import Segment
from tests.servers import free_port
from tests.speech import word_error_rate

from .pages import (
    PHONE,
    SPOKEN,
    logged_in_page,
    off_the_event_loop,
    screenshot,
    wait_for,
)

SPOKEN_SECONDS = len(SPOKEN.pcm16()[0]) / 2 / SPOKEN.pcm16()[1]


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


def test_a_listener_reads_what_the_speaker_says(live_cast, browser, web_server, whisper):
    base = web_server
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
    speakers = {s.strip() for s in dave.locator("#captions .caption .speaker").all_inner_texts()}
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


def test_a_denied_microphone_is_explained(live_cast, browser, web_server):
    base = web_server
    bob = logged_in_page(browser, base, "bob", microphone=False)
    bob.get_by_role("button", name="Start microphone").click()
    expect(bob.get_by_role("alert")).to_contain_text("Microphone access was denied")
    expect(bob.get_by_role("button", name="Start microphone")).to_be_enabled()
    screenshot(bob, "room-microphone-denied")


def test_the_page_reconnects_after_the_server_restarts(live_cast, browser, web_servers):
    port = free_port()
    with web_servers(port=port) as base:
        dave = logged_in_page(browser, base, "dave", microphone=False)
    status = dave.locator("#connection-status")
    expect(status).to_contain_text("Reconnecting", timeout=10_000)
    screenshot(dave, "room-reconnecting")
    with web_servers(port=port):
        expect(status).to_have_text("Connected", timeout=40_000)
        expect(dave.get_by_role("alert")).to_be_hidden()
