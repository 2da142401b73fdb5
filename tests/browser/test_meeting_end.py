"""A host ends the meeting from the room page, with the keyboard alone, in real Chromium.

Bob is speaking (Chromium's fake microphone plays recorded speech) when Alice ends the meeting:
his page stops the microphone, disables it and says the meeting has ended; what he was saying
is kept. Alice starts the meeting again, and Bob's microphone may be turned on again. The pages
pass axe-core on the way. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from meetings.models import Meeting, Recording

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot, wait_for

# Every microphone stream the page opens, so the test can see that its tracks were stopped.
RECORD_STREAMS = """
window.openedStreams = [];
const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await open(constraints);
  window.openedStreams.push(stream);
  return stream;
};
"""


def tab_to(page: Page, name: str, most: int = 60) -> None:
    """Press Tab until the focused element is the button called `name`."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent")
        if focused and focused.strip() == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_host_ends_the_meeting_with_the_keyboard_and_everyone_stops(
    live_cast, browser, web_server
):
    base = web_server
    alice = logged_in_page(browser, base, "alice", microphone=False)
    bob = logged_in_page(browser, base, "bob", microphone=True, init_script=RECORD_STREAMS)
    bob.get_by_role("button", name="Start microphone").click()
    # Bob is in the middle of his sentence.
    expect(alice.locator("#captions .caption").first).to_be_visible(timeout=30_000)

    tab_to(alice, "End meeting")
    alice.keyboard.press("Enter")
    dialog = alice.get_by_role("dialog", name="End the meeting for everyone?")
    expect(dialog).to_be_visible()
    # the safe choice first
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    assert_accessible(alice)
    alice.keyboard.press("Tab")
    expect(alice.get_by_role("button", name="End meeting for everyone")).to_be_focused()
    alice.keyboard.press("Enter")

    for page in (alice, bob):
        notice = page.locator("#meeting-ended")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Alice ended the meeting.")
        expect(notice).to_be_focused()  # the controls it replaces held the focus
        expect(page.locator("#meeting-announcer")).to_have_text(
            "The meeting has ended. Alice ended the meeting."
        )
    expect(bob.get_by_role("button", name="Start microphone")).to_be_disabled()
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_hidden()
    tracks = "window.openedStreams.flatMap(s => s.getTracks()).map(t => t.readyState)"
    assert set(bob.evaluate(tracks)) == {"ended"}
    expect(alice.locator("#meeting-end")).to_be_hidden()
    expect(alice.get_by_role("button", name="Start the meeting again")).to_be_visible()
    screenshot(bob, "room-meeting-ended")
    assert_accessible(bob)

    # What Bob was saying is kept, and his recording was closed.
    meeting = live_cast.meeting
    wait_for(
        lambda: off_the_event_loop(
            lambda: all(r.duration_ms > 0 for r in Recording.objects.filter(meeting=meeting))
        ),
        timeout=15,
    )
    ended = off_the_event_loop(lambda: Meeting.objects.get(pk=meeting.pk))
    assert ended.ended_at is not None
    expect(bob.locator("#captions .caption.final").first).to_be_visible(timeout=15_000)

    # The home page lists it as ended, with its transcript.
    home = alice.context.new_page()
    home.goto("/")
    expect(home.locator("#ended-meetings li")).to_contain_text("Weekly sync")
    expect(home.locator("#live-meetings")).to_have_count(0)
    assert_accessible(home)
    home.close()

    # Alice starts it again, still with the keyboard; Bob may turn his microphone on.
    tab_to(alice, "Start the meeting again")
    alice.keyboard.press("Enter")
    for page in (alice, bob):
        expect(page.locator("#meeting-ended")).to_be_hidden()
    expect(bob.get_by_role("button", name="Start microphone")).to_be_enabled()
    expect(bob.get_by_role("button", name="Start microphone")).to_be_focused()
    expect(alice.get_by_role("button", name="End meeting", exact=True)).to_be_visible()
    wait_for(
        lambda: off_the_event_loop(lambda: Meeting.objects.get(pk=meeting.pk)).ended_at is None,
        5,
    )


def test_a_listener_has_no_end_button_and_an_ended_room_says_so(live_cast, browser, web_server):
    off_the_event_loop(lambda: Meeting.objects.get(pk=live_cast.meeting.pk).end())
    base = web_server
    dave = logged_in_page(browser, base, "dave", microphone=False)
    expect(dave.locator("#meeting-ended")).to_be_visible()
    expect(dave.locator("#meeting-end, #meeting-reopen")).to_have_count(0)
    expect(dave.get_by_role("link", name="Read the transcript")).to_be_visible()
    assert_accessible(dave)
    bob = logged_in_page(browser, base, "bob", microphone=True)
    expect(bob.get_by_role("button", name="Start microphone")).to_be_disabled()


def test_the_home_and_new_meeting_pages_pass_axe(live_cast, browser, web_server):
    # Signing up lands on the home page with a message: its list once made axe's `listitem`
    # (serious) and `aria-allowed-role` (minor) violations.
    base = web_server
    page = browser.new_context(base_url=base).new_page()
    page.goto("/accounts/signup/")
    page.locator("#id_username").fill("erin")
    page.locator("#id_password1").fill("a long passphrase 42")
    page.locator("#id_password2").fill("a long passphrase 42")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome, erin.")
    assert_accessible(page)
    page.get_by_role("link", name="New meeting").click()
    expect(page.get_by_label("Scheduled start (optional)")).to_be_visible()
    assert_accessible(page)
