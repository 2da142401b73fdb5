"""Hosts correct segments and rename speakers; everyone searches their own meetings."""

from __future__ import annotations

import pytest

from meetings.models import Segment, TranscriptVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def transcript(cast):
    make = cast.factory.make_segment
    cast.first = make(cast.meeting, cast.bob, text="The budgets were approved yesterday.")
    cast.second = make(cast.meeting, cast.alice, text="We hire two engineers.", confidence=0.3)
    other = cast.factory.make_meeting(cast.charlie, title="Private", slug="private")
    make(other, cast.charlie, text="The budget is secret.")
    return cast


def test_a_host_corrects_a_segment_and_the_original_is_kept(client, transcript):
    client.force_login(transcript.alice)
    url = f"/m/weekly-sync/segments/{transcript.first.pk}/correct/"
    response = client.post(url, {"text": "The budgets were approved on Monday."})
    assert response.status_code == 302
    transcript.first.refresh_from_db()
    assert transcript.first.text == "The budgets were approved on Monday."
    assert transcript.first.original_text == "The budgets were approved yesterday."
    assert transcript.first.edited_by == transcript.alice

    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert (
        "approved on Monday" in page and "Originally: The budgets were approved yesterday." in page
    )


def test_only_hosts_correct(client, transcript):
    client.force_login(transcript.bob)
    url = f"/m/weekly-sync/segments/{transcript.first.pk}/correct/"
    assert client.post(url, {"text": "mine now"}).status_code == 403
    client.force_login(transcript.alice)
    client.post(url, {"text": "   "})
    transcript.first.refresh_from_db()
    assert transcript.first.text == "The budgets were approved yesterday."


def test_renaming_a_speaker_covers_the_whole_meeting(client, transcript):
    version = TranscriptVersion.objects.create(meeting=transcript.meeting, engine="whispercpp")
    transcript.factory.make_segment(transcript.meeting, transcript.bob, version=version)
    client.force_login(transcript.alice)
    response = client.post(
        "/m/weekly-sync/speakers/rename/", {"old_name": "Bob", "new_name": "Robert (CFO)"}
    )
    assert response.status_code == 302
    renamed = Segment.objects.filter(meeting=transcript.meeting, speaker=transcript.bob)
    assert {s.speaker_name for s in renamed} == {"Robert (CFO)"}
    assert {s.original_speaker_name for s in renamed} == {"Bob"}
    assert renamed.count() == 2
    client.force_login(transcript.dave)
    assert (
        client.post(
            "/m/weekly-sync/speakers/rename/", {"old_name": "Alice", "new_name": "X"}
        ).status_code
        == 403
    )


def test_low_confidence_segments_are_marked(client, transcript):
    client.force_login(transcript.dave)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert f'class="segment low-confidence" id="segment-{transcript.second.pk}"' in page
    assert f'class="segment" id="segment-{transcript.first.pk}"' in page


def test_search_finds_stemmed_words_in_my_meetings_only(client, transcript):
    client.force_login(transcript.dave)
    page = client.get("/search/", {"q": "budget"}).content.decode()
    assert "<mark>budgets</mark> were approved" in page
    assert "secret" not in page  # charlie's meeting
    assert "Nothing in your meetings" in client.get("/search/", {"q": "giraffe"}).content.decode()


def test_search_results_are_escaped(client, transcript):
    transcript.factory.make_segment(
        transcript.meeting, transcript.bob, text="<script>alert(1)</script> budget talk"
    )
    client.force_login(transcript.dave)
    page = client.get("/search/", {"q": "budget talk"}).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page


def test_the_side_by_side_view_shows_both_versions(client, transcript):
    version = TranscriptVersion.objects.create(
        meeting=transcript.meeting, engine="whispercpp", label="whisper.cpp pass"
    )
    transcript.factory.make_segment(
        transcript.meeting, transcript.bob, version=version, text="The budgets were approved."
    )
    client.force_login(transcript.alice)
    page = client.get(f"/m/weekly-sync/transcript/?compare={version.pk}").content.decode()
    assert "whisper.cpp pass" in page
    assert "The budgets were approved yesterday." in page  # live
    assert "The budgets were approved.</span>" in page  # the re-transcription
    assert client.get("/m/weekly-sync/transcript/?compare=999999").status_code == 404
