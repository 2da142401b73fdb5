"""In real Chromium: Bob, a host, made the hall's caption link; Alice removes him, and the screen
showing it stops at once and says why. His old join link does not bring him back, until Alice
lets him back in from the room page.

Real Daphne, consumers, Redis and PostgreSQL; nobody speaks (the captions are stored finals).
"""

from __future__ import annotations

from playwright.sync_api import expect

from caption_views.events import MAKER_MESSAGE
from meetings.models import Membership

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot
from .test_caption_views import caption_view, make_link


def test_a_removed_hosts_link_stops_and_the_join_link_keeps_him_out(live_cast, browser, web_server):
    def set_up() -> None:
        live_cast.meeting.memberships.filter(user=live_cast.bob).update(role=Membership.Role.HOST)
        live_cast.factory.make_segment(live_cast.meeting, live_cast.alice, text="Welcome all.")

    off_the_event_loop(set_up)
    base = web_server
    bob = logged_in_page(browser, base, "bob", microphone=False)
    url = make_link(bob)
    overlay = caption_view(browser, url)
    expect(overlay.locator("#captions .caption.final .text")).to_have_text("Welcome all.")

    alice = logged_in_page(browser, base, "alice", microphone=False)
    join_url = alice.locator("code.join-link").inner_text()
    alice.get_by_role("button", name="Remove Bob from this meeting").click()
    expect(alice.get_by_text("Bob is no longer a participant.")).to_be_visible()
    expect(overlay.get_by_role("status")).to_have_text(MAKER_MESSAGE, timeout=5_000)
    expect(overlay.locator("#captions .caption")).to_have_count(0)
    screenshot(overlay, "caption-view-maker-removed")

    bob.goto(join_url)
    expect(bob.get_by_text("A host removed you from this meeting.")).to_be_visible()
    assert bob.goto(f"{base}/m/weekly-sync/").status == 403

    # the room page lists him as removed; Alice lets him back in with the keyboard
    assert_accessible(alice)
    alice.get_by_role("button", name="Let Bob back in").focus()
    alice.keyboard.press("Enter")
    expect(alice.get_by_text("Bob may join again with the join link.")).to_be_visible()
    expect(alice.get_by_role("button", name="Let Bob back in")).to_have_count(0)
    bob.goto(join_url)
    expect(bob.get_by_text("You joined Weekly sync.")).to_be_visible()
    expect(bob.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
