"""Reviewing with the audio, keyboard only, in Chromium: play a segment, correct it, go on."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from meetings.models import Segment
from tests.recordings import make_recording
from tests.speech import clip

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot

# three utterances, said one after the other by Bob in one recording
CLIPS = ["A_LS_1089-134686-0001", "A_LJ001-0004", "A_LS_1089-134686-0001"]
OFFSET_MS = 1000  # the recording starts one second into the meeting
CORRECTION = "produced the block books, the predecessors of printed books"


def bob_said_three_things(cast) -> list[int]:
    pcm, ids, at_ms = b"", [], 0
    for name in CLIPS:
        speech = clip(name)
        audio, rate = speech.pcm16()
        duration_ms = len(audio) * 1000 // (2 * rate)
        segment = cast.factory.make_segment(
            cast.meeting,
            cast.bob,
            text=speech.reference.capitalize(),
            start_ms=OFFSET_MS + at_ms,
            end_ms=OFFSET_MS + at_ms + duration_ms,
        )
        ids.append(segment.pk)
        pcm += audio
        at_ms += duration_ms
    make_recording(cast.meeting, cast.bob, pcm, offset_ms=OFFSET_MS)
    return ids


def tab_to(page: Page, selector: str, presses: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus, as a keyboard user would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def playing_past(page: Page, seconds: float) -> None:
    page.wait_for_function(
        "(s) => { const a = document.getElementById('transcript-audio');"
        " return !a.paused && a.currentTime > s; }",
        arg=seconds,
        timeout=15_000,
    )


def test_a_host_plays_a_segment_and_corrects_it_with_the_keyboard(live_cast, browser, web_server):
    first, second, third = off_the_event_loop(lambda: bob_said_three_things(live_cast))
    base = web_server
    page = logged_in_page(browser, base, "alice", microphone=False)
    page.goto("/m/weekly-sync/transcript/")
    segment = page.locator(f"#segment-{second}")

    tab_to(page, f"#segment-{second} .play-from")
    expect(page.locator(":focus")).to_have_accessible_name("Play from here: Bob at 0:04")
    page.keyboard.press("Enter")
    start_s = int(segment.get_attribute("data-start-ms")) / 1000
    playing_past(page, start_s + 0.3)  # really playing, from the segment's start
    expect(segment).to_have_attribute("aria-current", "true")
    expect(segment).to_have_class("segment playing")
    expect(page.locator(f"#segment-{first}")).not_to_have_attribute("aria-current", "true")
    assert_accessible(page)
    screenshot(page, "review-audio-playing")

    page.keyboard.press("e")
    box = page.locator(f"#correct-{second}")
    expect(box).to_be_focused()
    assert page.evaluate("document.getElementById('transcript-audio').paused")
    page.keyboard.press("Control+A")
    page.keyboard.type(CORRECTION)
    page.keyboard.press("Tab")  # to Save correction
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/m/weekly-sync/transcript/#segment-{second}")
    expect(page.locator(f"#segment-{second} .text")).to_have_text(CORRECTION)
    assert off_the_event_loop(lambda: Segment.objects.get(pk=second).text) == CORRECTION
    # back in the same place: the segment marked, its Play button focused, the time kept
    expect(segment).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#segment-{second} .play-from")).to_be_focused()
    page.wait_for_function(
        "(s) => document.getElementById('transcript-audio').currentTime >= s",
        arg=start_s,
    )
    assert_accessible(page)
    screenshot(page, "review-audio-corrected")

    # playing on, the mark follows the speech into the next segment
    page.keyboard.press("Enter")
    expect(page.locator(f"#segment-{third}")).to_have_attribute(
        "aria-current", "true", timeout=15_000
    )
    expect(segment).not_to_have_attribute("aria-current", "true")
