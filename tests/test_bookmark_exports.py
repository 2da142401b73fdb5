"""Bookmarks in the transcript page and in the exports: JSON, TXT and DOCX carry them."""

from __future__ import annotations

import io
import json

import docx
import pytest
import srt
import webvtt

from meetings import queries
from meetings.models import Bookmark
from tests.recordings import make_recording
from tests.test_exports import download

pytestmark = pytest.mark.django_db


@pytest.fixture
def marked(cast):
    """Alice speaks from 1.2 s and from 3.0 s; Bob's recording covers 2.5 s to 6.5 s."""
    make = cast.factory.make_segment
    cast.first = make(cast.meeting, cast.alice, text="Welcome.", start_ms=1_200, end_ms=2_000)
    cast.second = make(cast.meeting, cast.bob, text="The budget.", start_ms=3_000, end_ms=6_000)
    cast.recording = make_recording(cast.meeting, cast.bob, b"\0\0" * 64_000, offset_ms=2_500)

    def mark(user, at_ms, note=""):
        return Bookmark.objects.create(
            meeting=cast.meeting, author=user, author_name=user.name, at_ms=at_ms, note=note
        )

    cast.during = mark(cast.dave, 4_000, "Budget\u2028decided")  # stored before validation
    cast.pause = mark(cast.bob, 2_500)
    cast.after = mark(cast.alice, 7_000, "Wrap up")
    return cast


def test_json_lists_the_bookmarks_in_time_order(client, marked):
    data = json.loads(download(client, marked.dave, "json").content)
    assert data["bookmarks"] == [
        {"at_ms": 2_500, "author": "Bob", "note": ""},
        {"at_ms": 4_000, "author": "Dave", "note": "Budget decided"},
        {"at_ms": 7_000, "author": "Alice", "note": "Wrap up"},
    ]
    assert len(data["segments"]) == 2


def test_txt_and_docx_list_them_after_the_transcript(client, marked):
    rows = download(client, marked.dave, "txt").content.decode().splitlines()
    assert rows[3:5] == ["[0:01] Alice: Welcome.", "[0:03] Bob: The budget."]
    assert rows[5:] == [
        "",
        "Bookmarks",
        "---------",
        "[0:02] Bob",
        "[0:04] Dave: Budget decided",
        "[0:07] Alice: Wrap up",
    ]
    document = docx.Document(io.BytesIO(download(client, marked.dave, "docx").content))
    texts = [p.text for p in document.paragraphs]
    assert texts[texts.index("Bookmarks") + 1 :] == rows[-3:]


def test_captions_formats_leave_them_out(client, marked):
    cues = list(srt.parse(download(client, marked.dave, "srt").content.decode()))
    assert len(cues) == 2
    body = download(client, marked.dave, "vtt").content.decode()
    assert len(webvtt.from_string(body)) == 2
    assert "Wrap up" not in body


def test_each_bookmark_plays_the_speech_of_its_moment(marked):
    segments = [marked.first, marked.second]
    audio = queries.segment_audio(marked.meeting, segments)
    assert list(audio) == [marked.second.pk]  # Alice has no recording
    found = queries.bookmark_audio(queries.bookmarks(marked.meeting), segments, audio)
    # during Bob's segment: from the moment itself, 1.5 s into his recording
    assert found[marked.during.pk] == queries.BookmarkAudio(
        marked.second.pk, marked.recording.pk, 1_500
    )
    # in the pause before it: from the start of the speech that follows
    assert found[marked.pause.pk] == queries.BookmarkAudio(
        marked.second.pk, marked.recording.pk, 500
    )
    assert marked.after.pk not in found  # after everything said


def test_the_transcript_page_lists_them_with_play_controls(client, marked):
    client.force_login(marked.dave)
    html = client.get("/m/weekly-sync/transcript/").content.decode()
    assert html.count('class="bookmark"') == 3
    assert (
        f'<li class="bookmark" id="bookmark-{marked.during.pk}" '
        f'data-segment="segment-{marked.second.pk}" data-start-ms="1500">'
    ) in html
    assert f'<li class="bookmark" id="bookmark-{marked.after.pk}">' in html
    assert "Budget\u2028decided" in html  # shown as stored; the exports make it one line
    assert html.index(f"bookmark-{marked.pause.pk}") < html.index(f"bookmark-{marked.during.pk}")
