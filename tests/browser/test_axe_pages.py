"""Every page of the site passes axe-core, signed out and signed in (the room and the home and
new-meeting pages are checked in test_meeting_end.py, with their dialogs and notices)."""

from __future__ import annotations

import pytest

from meetings.models import TranscriptVersion

from .pages import DESKTOP, PHONE, assert_accessible, logged_in_page, off_the_event_loop


def test_the_signed_out_pages_pass_axe(live_cast, browser, web_server):
    base = web_server
    page = browser.new_context(base_url=base).new_page()
    for path in ("/accounts/login/", "/accounts/signup/", "/no-such-page/"):
        page.goto(path)
        assert_accessible(page)
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in").click()  # the form's errors
    assert_accessible(page)


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_transcript_search_and_profile_pass_axe(live_cast, browser, device, web_server):
    def a_meeting_with_versions() -> None:
        make = live_cast.factory.make_segment
        make(live_cast.meeting, live_cast.bob, text="The budget was approved.", confidence=0.3)
        make(live_cast.meeting, live_cast.alice, text="We hire two engineers.")
        version = TranscriptVersion.objects.create(meeting=live_cast.meeting, engine="whispercpp")
        make(live_cast.meeting, live_cast.bob, version=version, text="The budget was approved.")

    off_the_event_loop(a_meeting_with_versions)
    base = web_server
    page = logged_in_page(browser, base, "alice", microphone=False, device=device)
    version = off_the_event_loop(lambda: TranscriptVersion.objects.get().pk)
    for path in (
        "/m/weekly-sync/transcript/",
        f"/m/weekly-sync/transcript/?version={version}",
        f"/m/weekly-sync/transcript/?compare={version}",
        "/search/?q=budget",
        "/search/?q=nothing-like-this",
        "/accounts/profile/",
        "/m/weekly-sync/caption-links/",  # the host's caption links (none yet)
    ):
        page.goto(path)
        assert_accessible(page)
    page.goto("/m/weekly-sync/transcript/")
    page.get_by_text("Correct").first.click()  # the correction form, opened
    assert_accessible(page)
    page.goto("/m/weekly-sync/caption-links/")
    page.get_by_role("button", name="Make a caption link").click()  # shown once, then listed
    assert_accessible(page)
