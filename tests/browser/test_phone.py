"""The room and the transcript on a phone-sized screen (Playwright's mobile viewport, touch).

Captions must be readable without zooming, nothing may scroll sideways, and a speaker must
reach the microphone button without scrolling.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .pages import PHONE, logged_in_page, off_the_event_loop, screenshot

WIDTH, HEIGHT = PHONE["viewport"]["width"], PHONE["viewport"]["height"]
#: the smallest text a phone shows readably without zooming (CSS px)
READABLE_PX = 16


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def font_px(page: Page, selector: str) -> float:
    return page.locator(selector).first.evaluate(
        "element => parseFloat(getComputedStyle(element).fontSize)"
    )


def test_a_speaker_on_a_phone_reaches_the_microphone_and_reads_captions(
    live_cast, browser, web_server
):
    make = live_cast.factory.make_segment
    welcome = "Welcome, everyone, to the weekly sync."
    off_the_event_loop(lambda: make(live_cast.meeting, live_cast.alice, text=welcome))
    base = web_server
    bob = logged_in_page(browser, base, "bob", microphone=True, device=PHONE)
    start = bob.get_by_role("button", name="Start microphone")
    expect(start).to_be_visible()
    box = start.bounding_box()
    assert box is not None and box["y"] + box["height"] <= HEIGHT, "scroll to reach the mic"
    assert box["height"] >= 44, "a touch target needs room for a finger (44 px)"
    expect(bob.locator("#captions .caption.final")).to_have_count(1)
    assert font_px(bob, "#captions .caption .text") >= READABLE_PX
    no_sideways_scroll(bob)
    screenshot(bob, "room-speaker-phone")


def test_the_transcript_reads_on_a_phone(live_cast, browser, web_server):
    make = live_cast.factory.make_segment

    def say_twelve_things() -> None:
        for n in range(12):
            make(
                live_cast.meeting, live_cast.bob, text=f"Point {n}: the budget for next year. " * 3
            )

    off_the_event_loop(say_twelve_things)
    base = web_server
    page = logged_in_page(browser, base, "alice", microphone=False, device=PHONE)
    page.goto("/m/weekly-sync/transcript/")
    expect(page.get_by_role("heading", name="Who spoke how much")).to_be_visible()
    no_sideways_scroll(page)
    assert font_px(page, ".segment .text") >= READABLE_PX
    screenshot(page, "transcript-phone")
