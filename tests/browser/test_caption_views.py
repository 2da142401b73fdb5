"""Caption views in real Chromium: settings that follow Dave to another device, and a caption
link that shows Bob's live speech on a screen nobody logged in to, until Alice revokes it.

Everything is real: Daphne, the consumers, Redis and PostgreSQL; Bob's speech is captioned by
the scripted engine (the words are beside the point: tests/servers.py). axe-core
checks the room with the settings panel open and the caption view, in every colour scheme.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from caption_views import options
from caption_views.models import CaptionSettings
from meetings.models import User

from .pages import (
    CONSOLE,
    DESKTOP,
    SCRIPTED,
    assert_accessible,
    logged_in_page,
    off_the_event_loop,
    screenshot,
    wait_for,
)
from .test_mentions import say, tab_to

#: what this browser kept before the size moved to the account
OLD_SIZE = "try { localStorage.setItem('caption-size', '2.5') } catch (e) {}"
TRANSPARENT = "rgba(0, 0, 0, 0)"


def style(page: Page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"(e) => getComputedStyle(e).{prop}")


def saved_settings() -> dict:
    return off_the_event_loop(
        lambda: CaptionSettings.as_dict_for(User.objects.get(username="dave"))
    )


def open_settings_with_the_keyboard(page: Page) -> None:
    tab_to_summary = page.locator("#caption-settings summary")
    for _ in range(40):
        page.keyboard.press("Tab")
        if tab_to_summary.evaluate("(e) => e === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_label("Colours")).to_be_visible()


def test_settings_follow_dave_to_another_device(live_cast, browser, web_server):
    base = web_server
    say("bob", "Dave, the minutes are ready.")  # a mention: its colours are checked too
    say("alice", "Thanks, everyone.")
    laptop = logged_in_page(browser, base, "dave", microphone=False, init_script=OLD_SIZE)
    # the size this browser kept moved to the account
    wait_for(lambda: saved_settings()["size"] == 2.5, timeout=10)
    assert laptop.evaluate("localStorage.getItem('caption-size')") is None

    open_settings_with_the_keyboard(laptop)
    tab_to(laptop, "caption-scheme")
    laptop.keyboard.press("ArrowDown")  # Default → Light on dark, no mouse
    expect(laptop.locator("#caption-settings-status")).to_have_text("Saved.")
    assert style(laptop, "#captions", "backgroundColor") == "rgb(31, 36, 48)"
    laptop.get_by_label("Font").select_option("readable")
    laptop.get_by_label("Line spacing").select_option("double")
    laptop.get_by_label("Lines shown").select_option("3")
    laptop.get_by_label("Lines sit at the").select_option("top")
    expect(laptop.locator("#caption-settings-status")).to_have_text("Saved.")
    laptop.get_by_role("button", name="Larger captions").click()
    wait_for(lambda: saved_settings()["size"] == 2.75, timeout=10)
    # every scheme passes axe-core (colour contrast included), with the panel open
    for scheme in options.SCHEMES:
        laptop.get_by_label("Colours").select_option(scheme)
        expect(laptop.locator("#caption-settings-status")).to_have_text("Saved.")
        assert_accessible(laptop)
    laptop.get_by_label("Colours").select_option("high-contrast")
    expect(laptop.locator("#caption-settings-status")).to_have_text("Saved.")
    screenshot(laptop, "room-caption-settings")

    # another device: nothing in its browser, everything from the account
    phone = logged_in_page(browser, base, "dave", microphone=False)
    captions = "#captions"
    assert style(phone, captions, "backgroundColor") == "rgb(0, 0, 0)"
    assert style(phone, f"{captions} .caption:not(.mention) .text", "color") == "rgb(255, 255, 0)"
    assert style(phone, captions, "fontFamily").startswith('"Atkinson Hyperlegible"')
    assert style(phone, captions, "fontSize") == "44px"  # 2.75rem
    assert style(phone, captions, "lineHeight") == "88px"  # double
    # three lines of text high, plus the padding
    assert style(phone, captions, "height") == f"{3 * 88 + 32}px"
    assert style(phone, captions, "display") == "block"  # lines from the top
    phone.locator("#caption-settings summary").click()
    expect(phone.get_by_label("Colours")).to_have_value("high-contrast")
    expect(phone.get_by_label("Lines shown")).to_have_value("3")
    assert_accessible(phone)


def test_a_bad_setting_is_refused_and_nothing_is_lost(live_cast, browser, web_server):
    base = web_server
    dave = logged_in_page(browser, base, "dave", microphone=False)
    dave.locator("#caption-settings summary").click()
    dave.get_by_label("Colours").select_option("dark-on-light")
    expect(dave.locator("#caption-settings-status")).to_have_text("Saved.")
    # a value the form does not offer, as a stale page or a script would send it
    dave.locator("#caption-font").evaluate(
        """(select) => {
          select.add(new Option("Comic", "comic"));
          select.value = "comic";
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }"""
    )
    expect(dave.locator("#caption-settings-status")).to_have_text(
        "Not saved: font: must be one of system, serif, monospace, readable. "
        "Your other settings are unchanged."
    )
    expect(dave.get_by_label("Font")).to_have_value("system")  # back to what is saved
    assert saved_settings()["scheme"] == "dark-on-light"


def make_link(alice: Page) -> str:
    """Alice makes a caption link from the room, with the keyboard."""
    alice.get_by_role("link", name="Caption links (projector, stream overlay)").click()
    assert_accessible(alice)
    alice.get_by_label("Label (optional, to tell links apart)").fill("Hall projector")
    alice.keyboard.press("Enter")
    url = alice.locator("#new-caption-link").inner_text()
    screenshot(alice, "caption-links")
    assert_accessible(alice)
    return url


def caption_view(browser: Browser, url: str) -> Page:
    page = browser.new_context(**DESKTOP).new_page()  # nobody logged in
    page.on("console", lambda message: CONSOLE.append(f"view: {message.text}"))
    page.on("pageerror", lambda error: CONSOLE.append(f"view error: {error}"))
    page.goto(url)
    return page


def test_a_caption_link_shows_live_speech_until_revoked(live_cast, browser, web_server):
    base = web_server
    alice = logged_in_page(browser, base, "alice", microphone=False)
    url = make_link(alice)
    assert url.startswith(f"{base}/captions/cv_")
    overlay = caption_view(browser, f"{url}?background=transparent&lines=2&size=2")
    for element in ("html", "body", "#captions"):
        assert style(overlay, element, "backgroundColor") == TRANSPARENT

    bob = logged_in_page(browser, base, "bob", microphone=True)
    bob.get_by_role("button", name="Start microphone").click()
    expect(overlay.locator("#captions .caption.final").first).to_be_visible(timeout=30_000)
    wait_for(lambda: bob.locator("#captions .caption.final").count() >= 1, timeout=30)
    assert bob.locator("#captions .caption.final .text").first.inner_text() == SCRIPTED
    expect(overlay.locator("#captions .caption.final .text").last).to_have_text(
        bob.locator("#captions .caption.final .text").last.inner_text()
    )
    # only the captions: no names list, no controls, nothing to type in
    assert overlay.locator("button, input, select, a, #participants").count() == 0
    # each line keeps a box of its scheme under it, over any picture
    assert style(overlay, "#captions .caption .text", "backgroundColor") == "rgb(0, 0, 0)"
    # two lines high: older lines are out of sight
    lines_high = overlay.locator("#captions").evaluate("(e) => e.clientHeight")
    assert lines_high <= 2 * 32 * 1.35 + 1
    screenshot(overlay, "caption-view-overlay")
    assert_accessible(overlay)

    for scheme in options.SCHEMES:
        projector = caption_view(browser, f"{url}?scheme={scheme}&lines=4")
        expect(projector.locator("#captions .caption.final").first).to_be_visible()
        assert style(projector, "body", "backgroundColor") != TRANSPARENT
        assert_accessible(projector)
        projector.context.close()

    # Alice revokes it: the open view stops at once and says why
    alice.get_by_role("button", name="Revoke Hall projector").focus()
    alice.keyboard.press("Enter")
    expect(alice.get_by_text("The caption link is revoked")).to_be_visible()
    expect(overlay.get_by_role("status")).to_have_text(
        "This caption link was revoked by a host of the meeting.", timeout=5_000
    )
    expect(overlay.locator("#captions .caption")).to_have_count(0)
    screenshot(overlay, "caption-view-revoked")
    gone = overlay.goto(url)
    assert gone.status == 404
    expect(overlay.get_by_role("heading")).to_have_text("This caption link does not work")
    assert_accessible(overlay)
    bob.get_by_role("button", name="Stop microphone").click()
