"""Mentions in real Chromium: Dave watches for his name and "budget", with the keyboard alone.

Dave sets his watch words and turns notifications on from his profile page, then listens in
the room. Captions are stored and broadcast through the real action (`do_store_final`, over
the real Redis layer to Daphne): the ones that say his words are highlighted and marked for
screen readers, others are not, and with his tab hidden the page asks the browser for a
notification. The pages pass axe-core on the way. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import itertools

from playwright.sync_api import Page, expect

from meetings import actions
from meetings.models import Meeting, User

from .pages import ROOM, assert_accessible, logged_in_page, off_the_event_loop, screenshot

# Headless Chromium has no notification centre to look at, so every Notification the page
# constructs is recorded (and still made by the real constructor): what the page asked the
# browser to show, observed as it asked.
RECORD_NOTIFICATIONS = """
window.shownNotifications = [];
if (window.Notification) {
  window.Notification = class extends window.Notification {
    constructor(title, options) {
      super(title, options);
      window.shownNotifications.push({ title, body: options && options.body, note: this });
    }
  };
}
"""

ITEMS = itertools.count()


def say(username: str, text: str) -> str:
    """A final caption by `username`, stored and broadcast as the consumer does it."""
    item_id = f"mention-test-{next(ITEMS)}"

    def store() -> None:
        actions.do_store_final(
            Meeting.objects.get(slug="weekly-sync"),
            User.objects.get(username=username),
            item_id=item_id,
            text=text,
            start_ms=0,
            end_ms=1000,
            avg_logprob=-0.1,
            confidence=0.9,
            language="en",
            engine="fake",
        )

    off_the_event_loop(store)
    return f"#caption-{item_id}"


def tab_to(page: Page, element_id: str, most: int = 40) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def set_watch_words_with_the_keyboard(page: Page) -> None:
    page.goto("/accounts/profile/")
    words = page.get_by_label("Words to watch for")
    expect(words).to_have_value("Dave")  # the display name, until he chooses
    tab_to(page, "id_watch_words")
    page.keyboard.press("Control+A")
    page.keyboard.type("Dave")
    page.keyboard.press("Enter")
    page.keyboard.type("budget")
    tab_to(page, "id_mention_notifications")
    page.keyboard.press("Space")
    expect(page.get_by_label("Notify me in the browser when I am mentioned")).to_be_checked()
    expect(page.locator("#notify-status")).to_have_text(
        "This browser will notify you while the room is in the background."
    )
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(words).to_have_value("Dave\nbudget")
    assert_accessible(page)


def hide(page: Page) -> None:
    """The tab goes to the background, as when another tab is chosen."""
    # Headless Chromium keeps every page visible: nothing occludes its windows, and neither a
    # minimised window (CDP's Browser.setWindowBounds) nor another tab in front changes that.
    # So the page is told what a browser tells a tab that went to the background.
    page.evaluate(
        """() => {
          Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
          Object.defineProperty(document, "hidden", { get: () => true });
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )


def test_dave_is_told_when_he_is_mentioned(live_cast, browser, web_server):
    base = web_server
    dave = logged_in_page(browser, base, "dave", microphone=False, init_script=RECORD_NOTIFICATIONS)
    dave.context.grant_permissions(["notifications"], origin=base)
    set_watch_words_with_the_keyboard(dave)
    dave.goto(ROOM)
    expect(dave.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

    called = say("bob", "Dave, could you take the next item?")
    topic = say("alice", "The budget for the road map is approved.")
    other = say("bob", "Davenport sent the minutes, nothing else.")
    own = say("dave", "My budget question can wait.")
    for line in (called, topic):
        expect(dave.locator(line)).to_have_class("caption final mention")
    expect(dave.locator(f"{called} mark")).to_have_text("Dave")
    expect(dave.locator(f"{topic} mark")).to_have_text("budget")
    # marked for screen readers, and still a final in the live region
    expect(dave.locator(f"{called} .visually-hidden")).to_have_text("Mentions you: ")
    expect(dave.locator(f"#captions {called}")).not_to_have_attribute("aria-hidden", "true")
    expect(dave.locator(other)).to_have_class("caption final")  # a word inside a word
    expect(dave.locator(own)).to_have_class("caption final")  # his own speech
    tab_to(dave, "mention-jump")
    expect(dave.get_by_role("button", name="Latest mention (2)")).to_be_focused()
    dave.keyboard.press("Enter")
    expect(dave.locator(topic)).to_be_focused()
    # on screen, the highlight is enough: no notification
    assert dave.evaluate("window.shownNotifications.length") == 0
    screenshot(dave, "room-mentions")
    assert_accessible(dave)

    hide(dave)
    assert dave.evaluate("document.visibilityState") == "hidden"
    away = say("bob", "Dave, are you still with us?")
    expect(dave.locator(away)).to_have_class("caption final mention")
    say("bob", "Let us move on.")  # nothing for Dave
    shown = dave.evaluate("window.shownNotifications.map(({ title, body }) => ({ title, body }))")
    assert shown == [{"title": "Bob", "body": "Dave, are you still with us?"}]
    # Clicking it brings Dave back to the caption.
    dave.evaluate("window.shownNotifications[0].note.dispatchEvent(new Event('click'))")
    expect(dave.locator(away)).to_be_focused()

    # Back later, the mentions he missed are highlighted in the room's history.
    dave.reload()
    expect(dave.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
    for line in (called, topic, away):
        expect(dave.locator(line)).to_have_class("caption final mention")
    expect(dave.locator(other)).to_have_class("caption final")
