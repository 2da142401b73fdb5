"""Reading back in the room, in real Chromium: Dave scrolls up, new captions leave his view
where it is, and "Jump to live" (by keyboard) brings him back to the newest caption.

Captions are stored and broadcast through the real action (over Redis to Daphne).
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .pages import assert_accessible, logged_in_page, screenshot, wait_for
from .test_mentions import say, tab_to


def scroll_top(page: Page) -> float:
    return page.locator("#captions").evaluate("(e) => e.scrollTop")


def at_bottom(page: Page) -> bool:
    return page.locator("#captions").evaluate(
        "(e) => e.scrollHeight - e.scrollTop - e.clientHeight < 2"
    )


def test_new_captions_do_not_move_a_reader_who_scrolled_up(live_cast, browser, web_server):
    base = web_server
    dave = logged_in_page(browser, base, "dave", microphone=False)
    jump = dave.locator("#caption-jump-live")
    for n in range(25):
        last = say("bob", f"Item {n} of the agenda, read out in full for the record.")
    expect(dave.locator(last)).to_be_visible()
    assert at_bottom(dave)  # followed the captions as they came
    expect(jump).to_be_hidden()

    # Up with the keyboard: the log is focusable, Home scrolls it to the top.
    dave.locator("#captions").focus()
    dave.keyboard.press("Home")
    expect(jump).to_be_visible()
    wait_for(lambda: scroll_top(dave) == 0, timeout=5)
    expect(jump).to_have_text("Jump to live")
    first_visible = dave.locator("#captions .caption").first.bounding_box()

    for n in range(3):
        last = say("alice", f"A new point number {n}.")
    expect(dave.locator(last)).to_be_attached()
    assert scroll_top(dave) == 0
    assert dave.locator("#captions .caption").first.bounding_box() == first_visible
    expect(jump).to_have_text("Jump to live (3 new)")
    screenshot(dave, "room-scrollback")
    assert_accessible(dave)

    tab_to(dave, "caption-jump-live")
    dave.keyboard.press("Enter")
    expect(jump).to_be_hidden()
    expect(dave.locator("#captions")).to_be_focused()
    assert at_bottom(dave)
    expect(dave.locator(last)).to_be_in_viewport()
    last = say("bob", "And it follows again.")
    expect(dave.locator(last)).to_be_in_viewport()
    assert at_bottom(dave)

    # up, then back down by hand: the button goes without being pressed
    dave.keyboard.press("PageUp")
    expect(jump).to_be_visible()
    dave.keyboard.press("End")
    expect(jump).to_be_hidden()
