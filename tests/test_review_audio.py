"""The transcript page ties each segment to the recording it is heard in."""

from __future__ import annotations

import pytest

from meetings.models import Recording
from meetings.queries import SegmentAudio, segment_audio
from tests.recordings import audio_url, make_recording

pytestmark = pytest.mark.django_db

SECOND = b"\x00\x00" * 16000


def test_it_finds_each_segment_in_its_speakers_recording(cast):
    make = cast.factory.make_segment
    first = make_recording(cast.meeting, cast.bob, SECOND * 10, offset_ms=1000)  # 1 s to 11 s
    later = make_recording(cast.meeting, cast.bob, SECOND * 5, offset_ms=20_000)  # 20 s to 25 s
    alices = make_recording(cast.meeting, cast.alice, SECOND * 30)
    segments = [
        make(cast.meeting, cast.bob, start_ms=2500, end_ms=4000),
        make(cast.meeting, cast.alice, start_ms=5000, end_ms=6000),
        make(cast.meeting, cast.bob, start_ms=12_000, end_ms=13_000),  # between Bob's two
        make(cast.meeting, cast.bob, start_ms=21_000, end_ms=22_500),
        make(cast.meeting, cast.bob, start_ms=500, end_ms=900),  # before his first
    ]
    found = segment_audio(cast.meeting, segments)
    assert found == {
        segments[0].pk: SegmentAudio(first.pk, 1500, 3000),
        segments[1].pk: SegmentAudio(alices.pk, 5000, 6000),
        segments[3].pk: SegmentAudio(later.pk, 1000, 2500),
    }


def test_a_recording_still_being_written_covers_what_follows_it(cast):
    recording = Recording.objects.create(
        meeting=cast.meeting, speaker=cast.bob, file="recordings/x.wav", offset_ms=3000
    )
    segment = cast.factory.make_segment(cast.meeting, cast.bob, start_ms=60_000, end_ms=61_000)
    assert segment_audio(cast.meeting, [segment]) == {
        segment.pk: SegmentAudio(recording.pk, 57_000, 58_000)
    }


def test_the_page_gives_segments_their_recording_and_a_play_button(client, cast):
    recording = make_recording(cast.meeting, cast.bob, SECOND * 4, offset_ms=0)
    heard = cast.factory.make_segment(cast.meeting, cast.bob, start_ms=1000, end_ms=2500)
    unheard = cast.factory.make_segment(cast.meeting, cast.dave, start_ms=3000, end_ms=3500)
    client.force_login(cast.dave)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert '<audio id="transcript-audio" controls' in page
    # the page's one module entry starts the player where the page has one (transcript.js)
    assert '<script type="module" src="/static/js/transcript.js"></script>' in page
    assert (
        f'id="segment-{heard.pk}" data-recording-url="{audio_url(recording)}" '
        'data-start-ms="1000" data-end-ms="2500"'
    ) in page
    assert f'id="segment-{unheard.pk}">' in page
    assert page.count('class="play-from') == 1
    assert "from here: Bob at 0:01" in page
    # the correction key is for hosts, who have the form
    assert "Press <kbd>E</kbd>" not in page
    client.force_login(cast.alice)
    assert "Press <kbd>E</kbd>" in client.get("/m/weekly-sync/transcript/").content.decode()


def test_without_recordings_there_is_no_player(client, cast):
    cast.factory.make_segment(cast.meeting, cast.bob)
    client.force_login(cast.alice)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert "<audio" not in page and "transcript-audio.js" not in page
