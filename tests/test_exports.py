"""Exports parse with the libraries people open them with, and carry corrections."""

from __future__ import annotations

import io
import json
import zipfile

import docx
import pytest
import srt
import webvtt

from meetings import actions
from meetings.exports import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def transcript(cast):
    make = cast.factory.make_segment
    make(cast.meeting, cast.alice, text="Welcome, everyone.", start_ms=1_200, end_ms=2_900)
    make(
        cast.meeting,
        cast.bob,
        text="Thanks <b>Alice</b> & all --> go.",
        start_ms=3_000,
        end_ms=6_450,
    )
    make(
        cast.meeting,
        cast.alice,
        text="First item: the budget.",
        start_ms=3_725_010,
        end_ms=3_728_000,
    )
    return cast


def download(client, user, fmt, **params):
    client.force_login(user)
    response = client.get(f"/m/weekly-sync/transcript/export.{fmt}", params)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response


def test_srt_has_the_times_and_speakers(client, transcript):
    body = download(client, transcript.dave, "srt").content.decode()
    cues = list(srt.parse(body))
    assert [c.index for c in cues] == [1, 2, 3]
    assert cues[0].start.total_seconds() == 1.2 and cues[0].end.total_seconds() == 2.9
    assert cues[2].start.total_seconds() == pytest.approx(3725.010)
    assert cues[0].content == "Alice: Welcome, everyone."
    assert cues[1].content.startswith("Bob: Thanks")


def test_webvtt_has_the_times_and_voices(client, transcript, tmp_path):
    body = download(client, transcript.dave, "vtt").content.decode()
    path = tmp_path / "t.vtt"
    path.write_text(body)
    captions = webvtt.read(str(path))
    assert [c.start for c in captions] == ["00:00:01.200", "00:00:03.000", "01:02:05.010"]
    assert [c.voice for c in captions] == ["Alice", "Bob", "Alice"]
    # markup in speech is escaped, never taken for cue tags; "-->" cannot end the cue early
    assert captions[1].text == "Thanks &lt;b&gt;Alice&lt;/b&gt; &amp; all → go."


def test_txt_json_and_docx(client, transcript):
    txt = download(client, transcript.dave, "txt").content.decode()
    assert "[0:01] Alice: Welcome, everyone." in txt
    assert "[1:02:05] Alice: First item: the budget." in txt

    data = json.loads(download(client, transcript.dave, "json").content)
    assert data["title"] == "Weekly sync"
    assert [s["speaker"] for s in data["segments"]] == ["Alice", "Bob", "Alice"]
    assert data["segments"][1]["start_ms"] == 3000 and data["segments"][1]["end_ms"] == 6450

    document = docx.Document(io.BytesIO(download(client, transcript.dave, "docx").content))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Weekly sync"
    assert paragraphs[1] == "[0:01] Alice: Welcome, everyone."
    assert document.paragraphs[1].runs[1].bold


def test_exports_carry_corrections_and_renamed_speakers(client, transcript):
    segment = transcript.meeting.segments.get(start_ms=1_200)
    actions.do_correct_segment(segment, "Welcome, everybody.", transcript.alice)
    actions.do_rename_speaker(transcript.meeting, "Bob", "Robert")
    cues = list(srt.parse(download(client, transcript.dave, "srt").content.decode()))
    assert cues[0].content == "Alice: Welcome, everybody."
    assert cues[1].content.startswith("Robert: ")
    segment.refresh_from_db()
    assert segment.original_text == "Welcome, everyone."


def test_outsiders_and_unknown_formats_get_no_export(client, transcript):
    client.force_login(transcript.charlie)
    assert client.get("/m/weekly-sync/transcript/export.srt").status_code == 403
    client.force_login(transcript.dave)
    assert client.get("/m/weekly-sync/transcript/export.exe").status_code == 404


def test_admin_exports_a_zip_of_every_format(admin_client, transcript):
    response = admin_client.post(
        "/admin/meetings/meeting/",
        {"action": "export_transcripts", "_selected_action": [transcript.meeting.pk]},
    )
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == [
        f"weekly-sync/weekly-sync.{f}" for f in ("docx", "json", "srt", "txt", "vtt")
    ]


def test_clock():
    assert clock(0) == "00:00:00.000"
    assert clock(3_725_010, ",") == "01:02:05,010"
