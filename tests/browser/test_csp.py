"""The room and transcript pages work under the Content-Security-Policy, in real Chromium.

Chromium reports everything the policy blocks (a script, a style, a WebSocket, the AudioWorklet
module) to the page's console and as a `securitypolicyviolation` event. Bob speaks, Dave reads
the captions, Alice opens the transcript and the admin's job list: none of them may see one.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from meetings.models import User

from .pages import CONSOLE, ROOM, logged_in_page

# Runs before the page's own scripts on every document, whatever the policy says.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def staff_cast(live_cast):
    """The cast, with Alice running the site: she may open the admin."""
    User.objects.filter(pk=live_cast.alice.pk).update(is_staff=True, is_superuser=True)
    return live_cast


def open_room(browser: Browser, base: str, username: str) -> Page:
    """Log in as `username` and open the room, recording every policy violation."""
    return logged_in_page(browser, base, username, microphone=True, init_script=RECORD_VIOLATIONS)


def policy_messages() -> list[str]:
    """What Chromium said on any page's console about the policy."""
    return [line for line in CONSOLE if "Content Security Policy" in line]


def violations(page: Page) -> list[str]:
    """What the policy blocked on the page's current document."""
    return page.evaluate("window.cspViolations")


def test_the_pages_work_under_the_policy(staff_cast, browser, web_server):
    base = web_server
    dave = open_room(browser, base, "dave")
    bob = open_room(browser, base, "bob")
    bob.get_by_role("button", name="Start microphone").click()
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_visible()
    # captions flow: the worklet captures, the socket carries, the listener sees a final
    expect(dave.locator("#captions .caption.final").first).to_be_visible(timeout=60_000)
    assert violations(bob) == []
    assert violations(dave) == []

    alice = open_room(browser, base, "alice")
    alice.goto(f"{ROOM}transcript/")
    expect(alice.locator(".segment").first).to_be_visible()
    assert violations(alice) == []
    for admin_page in ["/admin/", "/admin/transcription/transcriptionjob/"]:
        alice.goto(admin_page)
        expect(alice.locator("#site-name")).to_be_visible()
        assert violations(alice) == [], admin_page

    assert policy_messages() == []

    # The policy is enforced, and both watchers see it: an inline script is blocked.
    with alice.expect_console_message(lambda m: "Content Security Policy" in m.text):
        alice.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.inlineRan = true";
              document.body.append(script);
            }"""
        )
    alice.wait_for_function("window.cspViolations.length > 0")
    assert alice.evaluate("window.inlineRan") is None
    assert violations(alice) == ["script-src-elem blocked inline"]
