"""Bookmarks in real Chromium, keyboard only: Dave marks a moment, Alice sees it live, and the
transcript page lists it and plays the recording from it. axe-core checks each page."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from meetings.models import Bookmark, Meeting

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot
from .test_mentions import tab_to
from .test_review_audio import OFFSET_MS, bob_said_three_things, playing_past
from .test_review_audio import tab_to as tab_to_match

NOTE = "Budget approved <b>for</b> Q3"


def clock_started_a_second_ago() -> None:
    # Bob's recording starts 1 s into the meeting: the moment falls in his first segment
    started = timezone.now() - timedelta(seconds=1.5)
    Meeting.objects.filter(slug="weekly-sync").update(started_at=started)


def test_dave_bookmarks_with_the_keyboard_and_everyone_sees_it(live_cast, browser, web_server):
    first, _second, _third = off_the_event_loop(lambda: bob_said_three_things(live_cast))
    base = web_server
    alice = logged_in_page(browser, base, "alice", microphone=False)
    dave = logged_in_page(browser, base, "dave", microphone=False)
    expect(dave.get_by_role("button", name="Bookmark this moment")).to_be_visible()
    assert_accessible(dave)

    tab_to(dave, "bookmark-note")
    expect(dave.get_by_label("Note (optional)")).to_be_focused()
    dave.keyboard.type(NOTE)
    off_the_event_loop(clock_started_a_second_ago)
    dave.keyboard.press("Enter")  # submits the form: the same as Tab, then the button
    expect(dave.locator("#bookmark-status")).to_have_text("Bookmarked at 0:01.")
    expect(dave.locator("#bookmark-note")).to_have_value("")

    # on Alice's page, live; the note is text, never markup
    listed = alice.locator("#bookmark-list .bookmark")
    expect(listed).to_have_count(1)
    expect(listed).to_have_text(f"0:01Dave: {NOTE}")
    expect(alice.locator("#bookmark-list b")).to_have_count(0)
    screenshot(alice, "room-bookmark")
    assert_accessible(alice)

    bookmark = off_the_event_loop(lambda: Bookmark.objects.get())
    assert (bookmark.author_id, bookmark.note) == (live_cast.dave.pk, NOTE)
    assert 1000 <= bookmark.at_ms < 5000

    # It links to its place in the transcript, where it plays the recording from its moment.
    tab_to_match(dave, "#bookmark-list .bookmark a.time")
    dave.keyboard.press("Enter")
    dave.wait_for_url(f"**/m/weekly-sync/transcript/#bookmark-{bookmark.pk}")
    item = dave.locator(f"#bookmark-{bookmark.pk}")
    expect(item).to_contain_text(f"Dave: {NOTE}")
    expect(item).to_have_attribute("data-segment", f"segment-{first}")
    start_s = int(item.get_attribute("data-start-ms")) / 1000
    assert start_s == (bookmark.at_ms - OFFSET_MS) / 1000  # into Bob's recording
    tab_to_match(dave, f"#bookmark-{bookmark.pk} .play-from")
    expect(dave.locator(":focus")).to_have_accessible_name("Play from here (bookmark at 0:01)")
    dave.keyboard.press("Enter")
    playing_past(dave, start_s + 0.3)
    expect(dave.locator(f"#segment-{first}")).to_have_attribute("aria-current", "true")
    expect(dave.locator("#now-playing")).to_have_text("Playing from the bookmark at 0:01.")
    screenshot(dave, "transcript-bookmark")
    assert_accessible(dave)
