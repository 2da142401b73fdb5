"""Live translation in real Chromium: Dave reads Bob's captions with their French translation.

Bob speaks into his room page (Chromium's fake microphone plays recorded speech); Daphne stores
each final and has it translated by the stand-in chat endpoint (a glossary, word by word:
tests/test_translation_glossary.py). Dave picks French with the keyboard; each final shows with
its translation under it, marked as French, or instead of it. The room passes axe-core with the
picker. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.chat_server import chat_server, llm_settings
from tests.test_translation_glossary import captions_sent, reply, to_french

from .pages import assert_accessible, logged_in_page, screenshot


def settled(requests: list, quiet: float = 3.0) -> int:
    """How many requests there are once none has come for ``quiet`` seconds (30 s at most)."""
    deadline = time.monotonic() + 30
    count = -1
    while len(requests) != count and time.monotonic() < deadline:
        count = len(requests)
        time.sleep(quiet)
    return len(requests)


def test_a_listener_reads_the_captions_in_french(live_cast, browser, web_servers):
    with chat_server(reply) as chat, web_servers(**llm_settings(chat)) as base:
        dave = logged_in_page(browser, base, "dave", microphone=False)
        picker = dave.get_by_label("Translate captions to…")
        expect(picker).to_have_value("")  # off until chosen
        expect(picker).to_be_hidden()  # in its panel, below the microphone
        dave.get_by_text("Translation", exact=True).focus()
        dave.keyboard.press("Enter")
        picker.focus()
        picker.select_option("fr")  # as the keyboard's arrow keys do, then a change event
        assert dave.evaluate("localStorage.getItem('caption-translation')") == "fr"
        assert_accessible(dave)

        bob = logged_in_page(browser, base, "bob", microphone=True)
        bob.get_by_role("button", name="Start microphone").click()

        line = dave.locator("#captions .caption.final").first
        translation = line.locator(".translation")
        expect(translation).to_be_visible(timeout=60_000)
        original = line.locator(".text").inner_text()
        expect(translation).to_have_text(to_french(original))
        expect(translation).to_have_attribute("lang", "fr")
        expect(line.locator(".text")).to_be_visible()  # with the original, by default
        screenshot(dave, "room-translation-with")
        # Bob chose nothing: his captions come untranslated
        expect(bob.locator("#captions .caption.final").first).to_be_visible()
        assert bob.locator("#captions .translation").count() == 0

        dave.get_by_label("instead of the original").check()
        expect(line.locator(".text")).to_be_hidden()
        expect(translation).to_be_visible()
        assert_accessible(dave)
        screenshot(dave, "room-translation-instead")
        bob.get_by_role("button", name="Stop microphone").click()
        asked = settled(chat.requests)  # the utterance the stop cut short is translated too

        # Back later: the choices are kept, and the history comes translated from the store.
        dave.reload()
        expect(dave.get_by_label("Translate captions to…")).to_have_value("fr")
        expect(dave.get_by_label("instead of the original")).to_be_checked()
        expect(dave.locator("#captions .caption .translation").first).to_have_text(
            to_french(original), timeout=15_000
        )
        assert len(chat.requests) == asked
        assert original in captions_sent(chat)

        # The transcript offers its exports with the French translation made live.
        dave.goto("/m/weekly-sync/transcript/")
        link = dave.get_by_role("link", name="TXT with the French translation")
        expect(link).to_have_attribute(
            "href", "/m/weekly-sync/transcript/export.txt?translation=fr"
        )
        assert_accessible(dave)
