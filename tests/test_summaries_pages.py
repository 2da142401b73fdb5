"""Who may read, ask for and edit a meeting's summary, the host's edit, and the exports."""

from __future__ import annotations

import io
import json

from django.test import Client
from django.utils import timezone
from docx import Document

from meetings.models import User
from summaries.models import Summary
from tests.base import Cast
from tests.chat_server import chat_server
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, use

TRANSCRIPT = "/m/weekly-sync/transcript/"
ASK = "/m/weekly-sync/summary/request/"
EDIT = "/m/weekly-sync/summary/edit/"
STATUS = "/m/weekly-sync/summary/status.json"


def written(cast: Cast, **fields) -> Summary:
    """A finished summary, as the job leaves it."""
    fields.setdefault("text", "The team planned the launch.")
    fields.setdefault("decisions", ["Ship the Word export first"])
    fields.setdefault(
        "action_items",
        [{"owner": "Bob", "task": "Write the release notes"}, {"owner": "", "task": "Book a room"}],
    )
    return Summary.objects.create(
        meeting=cast.meeting,
        status="done",
        run=1,
        model_name="stand-in-chat",
        finished_at=timezone.now(),
        **fields,
    )


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_only_members_read_it_and_only_hosts_ask_or_edit(cast, settings):
    written(cast)
    with chat_server(minutes_model) as server:
        use(settings, server)
        anonymous = client_for(None)
        for url in (TRANSCRIPT, EDIT, STATUS):
            assert anonymous.get(url).status_code == 302  # to the login page
        assert anonymous.post(ASK).status_code == 302

        charlie = client_for(cast.charlie)  # not a participant
        for url in (TRANSCRIPT, EDIT, STATUS):
            assert charlie.get(url).status_code == 403
        assert charlie.post(ASK).status_code == 403
        assert charlie.post(EDIT, {"text": "mine now"}).status_code == 403

        for member in (cast.dave, cast.bob):  # a listener, a speaker: read only
            client = client_for(member)
            page = client.get(TRANSCRIPT).content.decode()
            assert "The team planned the launch." in page
            assert "Edit the summary" not in page and "Summarise again" not in page
            assert client.get(STATUS).json()["status"] == "done"
            assert client.post(ASK).status_code == 403
            assert client.get(EDIT).status_code == 403
            assert client.post(EDIT, {"text": "changed"}).status_code == 403
        summary = Summary.objects.get()
        assert (summary.text, summary.run) == ("The team planned the launch.", 1)
        assert server.requests == []

        alice = client_for(cast.alice)
        page = alice.get(TRANSCRIPT).content.decode()
        assert "Edit the summary" in page and "Summarise again" in page
        assert alice.post(ASK).status_code == 302
        summary.refresh_from_db()
        assert (summary.status, summary.run, summary.requested_by) == ("queued", 2, cast.alice)


def test_the_host_edits_it_and_the_edit_is_recorded(cast):
    summary = written(cast)
    alice = client_for(cast.alice)
    form = alice.get(EDIT).content.decode()
    assert 'value="Write the release notes"' in form and 'value="Bob"' in form
    response = alice.post(
        EDIT,
        {
            "text": "The team planned the launch for May.",
            "decisions": "Ship the Word export first\n\nMove the launch to the 14th\n",
            "owner_1": "Bob",
            "task_1": "Write the release notes by Friday",
            "owner_2": "",
            "task_2": "",  # emptied: taken out
            "owner_3": "Dave",
            "task_3": "Check the accessibility report",
        },
    )
    assert response.status_code == 302 and response["Location"] == TRANSCRIPT + "#summary"
    summary.refresh_from_db()
    assert summary.text == "The team planned the launch for May."
    assert summary.decisions == ["Ship the Word export first", "Move the launch to the 14th"]
    assert summary.action_items == [
        {"owner": "Bob", "task": "Write the release notes by Friday"},
        {"owner": "Dave", "task": "Check the accessibility report"},
    ]
    assert summary.edited_by == cast.alice and summary.edited_at is not None
    page = alice.get(TRANSCRIPT).content.decode()
    assert "Edited by Alice" in page
    assert '<span class="owner">Dave</span>: Check the accessibility report' in page


def test_an_edit_with_bad_text_is_refused_with_a_message(cast):
    summary = written(cast)
    alice = client_for(cast.alice)
    response = alice.post(EDIT, {"text": "ok", "decisions": "", "task_1": "Write\nnotes"})
    assert response.status_code == 400
    assert "Use a single line: no line breaks." in response.content.decode()
    summary.refresh_from_db()
    assert summary.text == "The team planned the launch." and summary.edited_by is None


def test_the_page_shows_progress_while_it_is_written(cast, settings):
    Summary.objects.create(
        meeting=cast.meeting, status="running", run=1, parts_done=2, parts_total=5
    )
    with chat_server(minutes_model) as server:
        use(settings, server)
        page = client_for(cast.dave).get(TRANSCRIPT).content.decode()
        status = client_for(cast.dave).get(STATUS).json()
    assert "Writing the summary: part 2 of 5 done." in page
    assert 'data-status-url="/m/weekly-sync/summary/status.json"' in page
    # the transcript page's one module entry follows the progress where the page shows it
    assert '<script type="module" src="/static/js/transcript.js"></script>' in page
    assert status == {"status": "running", "parts_done": 2, "parts_total": 5, "error": ""}


def test_exports_carry_the_summary(cast):
    say(cast, SHORT_MEETING)
    written(cast, edited_by=cast.alice, edited_at=timezone.now())
    alice = client_for(cast.alice)

    data = json.loads(alice.get("/m/weekly-sync/transcript/export.json").content)
    assert data["summary"]["text"] == "The team planned the launch."
    assert data["summary"]["decisions"] == ["Ship the Word export first"]
    assert data["summary"]["action_items"][0] == {"owner": "Bob", "task": "Write the release notes"}
    assert data["summary"]["edited_by"] == "Alice"
    assert data["summary"]["transcript"] == "Live captions"
    assert len(data["segments"]) == len(SHORT_MEETING)

    text = alice.get("/m/weekly-sync/transcript/export.txt").content.decode()
    assert "Summary\n-------\nThe team planned the launch.\n" in text
    assert "Action items\n------------\n- Bob: Write the release notes\n- Book a room\n" in text
    assert text.index("Action items") < text.index("[0:00] Alice: Welcome everyone.")

    docx = Document(io.BytesIO(alice.get("/m/weekly-sync/transcript/export.docx").content))
    paragraphs = [p.text for p in docx.paragraphs]
    assert "Bob: Write the release notes" in paragraphs
    assert "Ship the Word export first" in paragraphs
    assert paragraphs.index("Summary") < paragraphs.index("Transcript")

    srt = alice.get("/m/weekly-sync/transcript/export.srt").content.decode()
    assert "Book a room" not in srt and "Summary" not in srt  # cues only, as for bookmarks


def test_exports_without_a_summary_are_unchanged(cast):
    say(cast, SHORT_MEETING)
    data = json.loads(client_for(cast.alice).get("/m/weekly-sync/transcript/export.json").content)
    assert "summary" not in data
