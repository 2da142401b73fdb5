"""The room page when the server says no: too many connections, or no longer a speaker.

Before the fix, the page answered 4429 by retrying within seconds, for ever (each attempt kept
the user's connection counter alive), and a person made a listener kept a live microphone.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from meetings import actions
from meetings.models import Membership

from .pages import ROOM, logged_in_page, off_the_event_loop, screenshot


def test_a_page_refused_for_too_many_connections_says_why_and_waits(
    live_cast, browser, web_servers
):
    with web_servers(CAPTIONS_MAX_CONNECTIONS_PER_USER="1") as base:
        first = logged_in_page(browser, base, "dave", microphone=False)
        second = first.context.new_page()
        attempts = []
        second.on("websocket", lambda ws: attempts.append(ws.url))
        second.goto(ROOM)
        alert = second.get_by_role("alert")
        expect(alert).to_contain_text("most connections allowed (1)", timeout=10_000)
        expect(alert).to_contain_text("tries again in")
        expect(second.locator("#connection-status")).to_contain_text("Trying again in")
        screenshot(second, "room-too-many-connections")
        time.sleep(8)  # the old page had tried again twice by now
        assert len(attempts) == 1
        expect(first.locator("#connection-status")).to_have_text("Connected")


def test_a_speaker_made_listener_loses_the_microphone(live_cast, browser, web_server):
    base = web_server
    bob = logged_in_page(browser, base, "bob", microphone=True)
    bob.get_by_role("button", name="Start microphone").click()
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_visible()
    off_the_event_loop(
        lambda: actions.do_set_role(live_cast.meeting, live_cast.bob, Membership.Role.LISTENER)
    )
    expect(bob.get_by_role("alert")).to_contain_text("listener now", timeout=10_000)
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_hidden()
    expect(bob.get_by_role("button", name="Start microphone")).to_be_hidden()
    expect(bob.locator("#connection-status")).to_have_text("Connected")
    screenshot(bob, "room-made-listener")


def test_a_speaker_refused_for_capacity_keeps_listening_and_may_try_again(
    live_cast, browser, web_servers
):
    with web_servers(CAPTIONS_MAX_SPEAKERS="0") as base:
        bob = logged_in_page(browser, base, "bob", microphone=True)
        bob.get_by_role("button", name="Start microphone").click()
        expect(bob.get_by_role("alert")).to_contain_text(
            "as many speakers as it can", timeout=10_000
        )
        expect(bob.get_by_role("alert")).to_contain_text("still in the room as a listener")
        start = bob.get_by_role("button", name="Start microphone")
        expect(start).to_be_visible()
        expect(start).to_be_enabled()
        expect(start).to_be_focused()
        expect(bob.locator("#connection-status")).to_have_text("Connected")
        screenshot(bob, "room-server-busy")
