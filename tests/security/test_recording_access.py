"""A meeting's recordings reach its members and nobody else, whatever the URL says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recordings import audio_url, body, make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def recordings(cast):
    cast.secret = cast.factory.make_meeting(cast.charlie, title="Secret plans", slug="secret")
    cast.recording = make_recording(cast.meeting, cast.bob, b"\x01\x00" * 1600)
    cast.secret_recording = make_recording(cast.secret, cast.charlie, b"\x02\x00" * 1600)
    return cast


def get(client, user, url: str):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


def test_it_serves_a_recording_to_the_meetings_members_only(client, recordings):
    c = recordings
    url = audio_url(c.recording)
    # signed out: 404, not a login redirect that would confirm the recording exists
    assert get(client, None, url).status_code == 404
    assert get(client, c.charlie, url).status_code == 404  # a member of another meeting
    outsider = c.factory.make_user("erin")  # a member of no meeting at all
    assert get(client, outsider, url).status_code == 404
    for member in (c.dave, c.bob, c.alice):
        response = get(client, member, url)
        assert response.status_code == 200
        assert body(response).startswith(b"RIFF")


def test_changing_ids_reaches_no_other_meetings_recording(client, recordings):
    c = recordings
    # Charlie's recording through a meeting alice hosts
    assert get(client, c.alice, audio_url(c.secret_recording, "weekly-sync")).status_code == 404
    # ... and through its own meeting, which alice is not in
    assert get(client, c.alice, audio_url(c.secret_recording)).status_code == 404
    # ... and Charlie cannot reach Weekly sync's through his meeting
    assert get(client, c.charlie, audio_url(c.recording, "secret")).status_code == 404
    # no such recording, no such meeting
    missing = audio_url(c.recording).replace(f"/{c.recording.pk}/", "/999999/")
    assert get(client, c.alice, missing).status_code == 404
    assert get(client, c.alice, "/m/nope/recordings/1/audio.wav").status_code == 404


def test_it_takes_no_writes(client, recordings):
    client.force_login(recordings.alice)
    assert client.post(audio_url(recordings.recording)).status_code == 405


def test_a_missing_file_is_a_404(client, recordings):
    Path(recordings.recording.file.path).unlink()
    client.force_login(recordings.alice)
    assert client.get(audio_url(recordings.recording)).status_code == 404
