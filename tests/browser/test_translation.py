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
from translations.models import Translation

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot


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


def test_an_export_waits_on_a_page_and_downloads_once_the_worker_translated(
    live_cast, browser, web_servers, job_workers, tmp_path
):
    def one_said_in_french_and_one_not():
        make = live_cast.factory.make_segment
        welcome = make(live_cast.meeting, live_cast.alice, text="Welcome, everyone.")
        Translation.objects.create(
            segment=welcome, language="fr", text=to_french(welcome.text), source_text=welcome.text
        )
        make(live_cast.meeting, live_cast.bob, text="The budget.", start_ms=3_000)

    off_the_event_loop(one_said_in_french_and_one_not)
    with chat_server(reply) as chat, web_servers(**llm_settings(chat)) as base:
        dave = logged_in_page(browser, base, "dave", microphone=False)
        dave.goto("/m/weekly-sync/transcript/")
        dave.get_by_role("link", name="TXT with the French translation").click()
        # not the file yet: a page that says why, while the request asked the model nothing
        expect(dave.get_by_role("heading", name="Export on its way: Weekly sync")).to_be_visible()
        expect(dave.get_by_role("status")).to_have_text(
            "The transcript is being translated into French: 0 of 1 segments are done."
        )
        assert chat.requests == []
        assert_accessible(dave)
        screenshot(dave, "export-pending")

        # the worker translates it; the page, asking again, gets the file
        with job_workers(**llm_settings(chat)):
            download = dave.wait_for_event("download", timeout=60_000)
        assert download.suggested_filename == "weekly-sync.fr.txt"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)  # a copy from the browser server (conftest.py)
        assert "    le budget.\n" in saved.read_text(encoding="utf-8")
        assert captions_sent(chat) == ["The budget."]
