"""A meeting summary in real Chromium, keyboard only: Alice asks for one, the real worker writes
it through the stand-in chat endpoint while the page shows progress, and she edits an action
item. axe-core checks each page."""

from __future__ import annotations

from playwright.sync_api import expect

from summaries.models import Summary
from tests.chat_server import chat_server, llm_settings
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say

from .pages import assert_accessible, logged_in_page, off_the_event_loop, screenshot
from .test_review_audio import tab_to


def test_alice_asks_for_a_summary_and_edits_an_action_item(
    live_cast, browser, web_servers, job_workers
):
    off_the_event_loop(lambda: say(live_cast, SHORT_MEETING))
    # slow enough that the page shows the job under way before the answer comes
    with (
        chat_server(minutes_model, delay=4) as server,
        job_workers(**llm_settings(server)),
        web_servers(**llm_settings(server)) as base,
    ):
        alice = logged_in_page(browser, base, "alice", microphone=False)
        alice.goto("/m/weekly-sync/transcript/")
        section = alice.locator("#summary")
        expect(section).to_contain_text("No summary yet.")
        assert_accessible(alice)

        tab_to(alice, "#summary button[type=submit]")
        expect(alice.locator(":focus")).to_have_text("Summarise")
        alice.keyboard.press("Enter")
        expect(alice.locator("#summary-status")).to_contain_text(
            "Writing the summary: part 0 of 1 done.", timeout=15_000
        )
        assert_accessible(alice)

        # the page loads itself again once the worker is done
        actions = section.locator(".summary-actions li")
        expect(actions).to_have_count(2, timeout=30_000)
        expect(actions.first).to_have_text("Bob: write the release notes by Friday")
        expect(section.locator(".summary-decisions li").first).to_have_text(
            "ship the Word export before the launch"
        )
        expect(alice.locator("#summary-status")).to_have_count(0)
        screenshot(alice, "transcript-summary")
        assert_accessible(alice)

        tab_to(alice, "#summary a[href$='/summary/edit/']")
        alice.keyboard.press("Enter")
        alice.wait_for_url("**/m/weekly-sync/summary/edit/")
        assert_accessible(alice)
        tab_to(alice, "#id_task_1")
        expect(alice.locator(":focus")).to_have_accessible_name("Action item 1")
        alice.keyboard.press("Control+A")
        alice.keyboard.type("Write the release notes by Thursday")
        alice.keyboard.press("Enter")  # submits the form

        alice.wait_for_url("**/m/weekly-sync/transcript/#summary")
        expect(actions.first).to_have_text("Bob: Write the release notes by Thursday")
        expect(section).to_contain_text("Edited by Alice")
        alice.reload()
        expect(actions.first).to_have_text("Bob: Write the release notes by Thursday")
        assert_accessible(alice)

    summary = off_the_event_loop(lambda: Summary.objects.select_related("edited_by").get())
    assert summary.action_items[0] == {
        "owner": "Bob",
        "task": "Write the release notes by Thursday",
    }
    assert summary.edited_by.username == "alice"
    assert len(server.requests) == 1
