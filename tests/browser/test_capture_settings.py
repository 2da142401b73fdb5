"""The room's "Microphone processing" setting, in real Chromium with its fake microphone.

Bob chooses echo cancellation, noise suppression and automatic gain on his room page. A wrapper
around getUserMedia, installed by the test before the page's scripts run, records what the page
asks for and what Chromium says it applied (the track's ``getSettings()``); the page itself has
no hook for tests.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .pages import PHONE, SCRIPTED, logged_in_page, screenshot, wait_for

RECORD_CAPTURE = """
window.captureRequests = [];
window.captureTracks = [];
const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await open(constraints);
  const track = stream.getAudioTracks()[0];
  window.captureRequests.push({ constraints, settings: track.getSettings() });
  window.captureTracks.push(track);
  return stream;
};
"""

#: the checkbox labels, by the getUserMedia constraint each one sets
LABELS = {
    "echoCancellation": "Echo cancellation",
    "noiseSuppression": "Noise suppression",
    "autoGainControl": "Automatic gain",
}
#: the defaults docs/BENCHMARKS.md chose ("Microphone processing in the browser")
DEFAULTS = {"echoCancellation": True, "noiseSuppression": False, "autoGainControl": False}


def open_speaker_room(browser, base: str, **device) -> Page:
    page = logged_in_page(
        browser, base, "bob", microphone=True, init_script=RECORD_CAPTURE, **device
    )
    page.get_by_text("Microphone processing", exact=True).click()  # a disclosure, closed at first
    return page


def expect_choice(page: Page, choice: dict[str, bool]) -> None:
    for constraint, label in LABELS.items():
        expect(page.get_by_label(label)).to_be_checked(checked=choice[constraint])


def asked_and_applied(page: Page, call: int) -> tuple[dict, dict]:
    """What the page's `call`-th getUserMedia asked for, and what Chromium applied."""
    request = page.evaluate("window.captureRequests")[call]
    applied = {constraint: request["settings"][constraint] for constraint in LABELS}
    return request["constraints"], applied


def finals(page: Page) -> list[str]:
    """The page's final captions: the server's scripted engine says one line per utterance."""
    return page.locator("#captions .caption.final .text").all_inner_texts()


def test_it_opens_the_microphone_with_the_defaults_and_captions_flow(
    live_cast, browser, web_server
):
    base = web_server
    bob = open_speaker_room(browser, base)
    expect(bob.get_by_role("group", name="Microphone processing")).to_be_visible()
    expect_choice(bob, DEFAULTS)
    bob.get_by_role("button", name="Start microphone").click()

    wait_for(lambda: finals(bob) == [SCRIPTED], timeout=60)  # the sentence, captioned
    asked, applied = asked_and_applied(bob, 0)
    assert asked == {"audio": {"channelCount": 1, **DEFAULTS}}
    assert applied == DEFAULTS
    assert bob.evaluate("window.captureRequests.length") == 1


def test_a_change_while_the_microphone_is_on_reopens_it(live_cast, browser, web_server):
    base = web_server
    bob = open_speaker_room(browser, base)
    bob.get_by_role("button", name="Start microphone").click()
    wait_for(lambda: finals(bob) == [SCRIPTED], timeout=60)

    bob.get_by_label("Noise suppression").check()
    chosen = {**DEFAULTS, "noiseSuppression": True}
    wait_for(lambda: bob.evaluate("window.captureRequests.length") == 2, timeout=15)
    assert asked_and_applied(bob, 1) == ({"audio": {"channelCount": 1, **chosen}}, chosen)
    wait_for(lambda: bob.evaluate("window.captureTracks[0].readyState") == "ended", 15)
    assert bob.evaluate("window.captureTracks[1].readyState") == "live"
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_visible()

    # Chromium's fake microphone plays its file again from the start when it is reopened:
    # the new stream reaches the server and the sentence is captioned a second time.
    wait_for(lambda: finals(bob) == [SCRIPTED, SCRIPTED], timeout=60)


def test_the_choice_outlives_the_page(live_cast, browser, web_server):
    base = web_server
    bob = open_speaker_room(browser, base, device=PHONE)
    # by keyboard: the boxes are real checkboxes with labels
    bob.get_by_label("Noise suppression").focus()
    bob.keyboard.press("Space")
    bob.get_by_label("Echo cancellation").focus()
    bob.keyboard.press("Space")
    chosen = {"echoCancellation": False, "noiseSuppression": True, "autoGainControl": False}
    expect_choice(bob, chosen)
    screenshot(bob, "room-microphone-processing-phone")
    assert bob.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll

    bob.reload()
    expect(bob.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
    bob.get_by_text("Microphone processing", exact=True).click()
    expect_choice(bob, chosen)
    bob.get_by_role("button", name="Start microphone").click()
    expect(bob.get_by_role("button", name="Stop microphone")).to_be_visible()
    assert asked_and_applied(bob, 0) == ({"audio": {"channelCount": 1, **chosen}}, chosen)
