"""The meeting's language, in real Chromium: a labelled field, chosen with the keyboard alone.

On this server (the bundled English-only model) the field offers English and explains why; the
room of a Thai meeting says, next to the microphone, that captions in Thai need another model or
engine. With the OpenAI engine configured (nothing is sent to OpenAI: no one speaks) the field
offers Thai, picked by typing its name. Every page passes axe-core. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from meetings.models import Meeting

from .pages import DESKTOP, assert_accessible, logged_in_page, off_the_event_loop, screenshot


def create_page(browser: Browser, base: str) -> Page:
    page = browser.new_context(base_url=base, **DESKTOP).new_page()
    page.goto("/accounts/login/?next=/meetings/new/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw-alice")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/meetings/new/")
    return page


def create_with_the_keyboard(page: Page, title: str, type_ahead: str | None) -> None:
    """Title typed, then Tab to the language (typing a name picks it), Tab on to Create."""
    page.get_by_label("Title").fill(title)
    page.keyboard.press("Tab")
    language = page.get_by_label("Language:", exact=True)
    expect(language).to_be_focused()
    if type_ahead:
        page.keyboard.type(type_ahead)
    for _ in range(10):
        if page.evaluate("document.activeElement.textContent.trim()") == "Create":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")


def test_an_english_only_server_offers_english_and_warns_in_a_thai_room(
    live_cast, browser, web_server
):
    off_the_event_loop(
        lambda: live_cast.factory.make_meeting(
            live_cast.alice, title="Thai class", slug="thai-class", language="th"
        )
    )
    base = web_server
    page = create_page(browser, base)
    language = page.get_by_label("Language:", exact=True)
    expect(language).to_have_value("en")
    expect(language.locator("option")).to_have_text(["English (en)"])
    expect(language).to_have_accessible_description(
        "This server's speech model transcribes English only; other languages need a "
        "multilingual model or another engine."
    )
    assert_accessible(page)
    create_with_the_keyboard(page, "Stand-up", type_ahead=None)
    page.wait_for_url("**/m/stand-up/")

    room = logged_in_page(browser, base, "alice", microphone=True, room="/m/thai-class/")
    warning = room.locator("#language-warning")
    expect(warning).to_contain_text("Captions in Thai (th) need another speech model")
    expect(room.get_by_role("button", name="Start microphone")).to_have_accessible_description(
        re.compile(r"^Captions in Thai \(th\) need another speech model or engine\. ")
    )
    screenshot(room, "thai-meeting-warning")
    assert_accessible(room)
    assert off_the_event_loop(lambda: Meeting.objects.get(slug="stand-up").language) == "en"


def test_a_multilingual_engine_offers_thai_to_the_keyboard(live_cast, browser, web_servers):
    with web_servers(TRANSCRIPTION_ENGINE="openai", OPENAI_API_KEY="not-used") as base:
        page = create_page(browser, base)
        assert_accessible(page)
        create_with_the_keyboard(page, "Thai class", type_ahead="Thai")
        page.wait_for_url("**/m/thai-class/")
        expect(page.locator("#language-warning")).to_have_count(0)
    assert off_the_event_loop(lambda: Meeting.objects.get(slug="thai-class").language) == "th"
