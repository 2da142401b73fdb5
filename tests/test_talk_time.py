"""Who spoke how much: talk time and share per speaker, on the transcript page."""

from __future__ import annotations

import re

import pytest

from meetings.models import TranscriptVersion
from meetings.queries import talk_times

pytestmark = pytest.mark.django_db


@pytest.fixture
def spoken(cast):
    make = cast.factory.make_segment
    make(cast.meeting, cast.bob, start_ms=0, end_ms=90_000)  # 1:30
    make(cast.meeting, cast.alice, start_ms=90_000, end_ms=120_000)  # 0:30
    make(cast.meeting, cast.bob, start_ms=120_000, end_ms=150_000)  # 0:30
    return cast


def table_rows(page: str) -> list[list[str]]:
    table = page.split('<table class="talk-time"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in row] for row in cells]


def test_talk_time_adds_up_each_speakers_segments(spoken):
    times = talk_times(spoken.meeting, None)
    assert [(t.speaker, t.ms, round(t.share, 3), t.segments) for t in times] == [
        ("Bob", 120_000, 0.8, 2),
        ("Alice", 30_000, 0.2, 1),
    ]
    assert [t.duration for t in times] == ["2:00", "0:30"]


def test_the_transcript_page_shows_who_spoke_how_much(client, spoken):
    client.force_login(spoken.dave)  # a listener sees it too
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert "Who spoke how much" in page
    assert table_rows(page) == [
        ["Speaker", "Talk time", "Share", "Segments"],
        ["Bob", "2:00", "80 %", "2"],
        ["Alice", "0:30", "20 %", "1"],
    ]


def test_each_transcript_version_counts_its_own_segments(client, spoken):
    version = TranscriptVersion.objects.create(meeting=spoken.meeting, engine="whispercpp")
    spoken.factory.make_segment(
        spoken.meeting, spoken.alice, version=version, start_ms=0, end_ms=61_000
    )
    client.force_login(spoken.alice)
    page = client.get(f"/m/weekly-sync/transcript/?version={version.pk}").content.decode()
    assert table_rows(page)[1:] == [["Alice", "1:01", "100 %", "1"]]


def test_an_empty_transcript_has_no_table(client, cast):
    client.force_login(cast.alice)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert "talk-time" not in page
