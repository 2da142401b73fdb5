"""Who may see and do what: every lookup by slug, id or code, for every role.

The ladder runs anonymous → outsider → listener → speaker → host; the other tests check that a
host's rights in one meeting reach nothing of another (versions, segments, members), that
personal transcripts, jobs and recordings stay with their owners, and that Django staff
without superuser rights are not hosts of every meeting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission

from meetings.models import Meeting, Recording, TranscriptVersion
from transcription.models import AudioUpload, TranscriptionJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast):
    """Weekly sync with a segment and a batch version, and Charlie's own meeting likewise."""
    make = cast.factory.make_segment
    cast.segment = make(cast.meeting, cast.bob, text="The budget is approved.")
    cast.version = TranscriptVersion.objects.create(meeting=cast.meeting, engine="whispercpp")
    make(cast.meeting, cast.bob, version=cast.version, text="The budget is approved (batch).")
    cast.secret = cast.factory.make_meeting(cast.charlie, title="Secret plans", slug="secret")
    cast.secret_segment = make(cast.secret, cast.charlie, text="The merger is confidential.")
    cast.secret_version = TranscriptVersion.objects.create(meeting=cast.secret, engine="local")
    cast.erin = cast.factory.make_user("erin")
    return cast


def status(client, user, method: str, url: str, data: dict | None = None) -> int:
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.post(url, data or {}) if method == "POST" else client.get(url)
    if response.status_code == 302 and response["Location"].startswith("/accounts/login/"):
        return 401
    return response.status_code


def test_it_lets_each_role_do_exactly_what_it_may(client, world):
    w = world
    reads = [
        "/m/weekly-sync/",
        "/m/weekly-sync/transcript/",
        f"/m/weekly-sync/transcript/?version={w.version.pk}",
        f"/m/weekly-sync/transcript/?compare={w.version.pk}",
        "/m/weekly-sync/transcript/export.srt",
        f"/m/weekly-sync/transcript/export.docx?version={w.version.pk}",
    ]
    writes = [
        (f"/m/weekly-sync/segments/{w.segment.pk}/correct/", {"text": "Mine now."}),
        ("/m/weekly-sync/speakers/rename/", {"old_name": "Bob", "new_name": "Mallory"}),
        ("/m/weekly-sync/invite/", {"username": "erin", "role": "host"}),
        ("/m/weekly-sync/join-link/", {}),
        (f"/m/weekly-sync/participants/{w.dave.pk}/role/", {"role": "host"}),
        (f"/m/weekly-sync/participants/{w.bob.pk}/remove/", {}),
    ]
    # (who, status of every read, status of every write)
    ladder = [(None, 401, 401), (w.charlie, 403, 403), (w.dave, 200, 403), (w.bob, 200, 403)]
    join_code = w.meeting.join_code
    for user, read_status, write_status in ladder:
        for url in reads:
            assert status(client, user, "GET", url) == read_status, (user, url)
        for url, data in writes:
            assert status(client, user, "POST", url, data) == write_status, (user, url)

    # nothing the others tried took effect
    w.segment.refresh_from_db()
    w.meeting.refresh_from_db()
    assert w.segment.text == "The budget is approved." and w.segment.speaker_name == "Bob"
    assert w.meeting.join_code == join_code
    assert w.meeting.role_of(w.erin) is None and w.meeting.role_of(w.dave) == "listener"
    assert w.meeting.role_of(w.bob) == "speaker"

    for url in reads:
        assert status(client, w.alice, "GET", url) == 200, url
    for url, data in writes:
        assert status(client, w.alice, "POST", url, data) == 302, url
    w.segment.refresh_from_db()
    w.meeting.refresh_from_db()
    assert w.segment.text == "Mine now." and w.segment.speaker_name == "Mallory"
    assert w.meeting.join_code != join_code
    assert w.meeting.role_of(w.erin) == "host" and w.meeting.role_of(w.dave) == "host"
    assert w.meeting.role_of(w.bob) is None


def test_a_host_reaches_nothing_of_another_meeting_through_their_own(client, world):
    w = world
    client.force_login(w.alice)
    for url in (
        f"/m/weekly-sync/transcript/?version={w.secret_version.pk}",
        f"/m/weekly-sync/transcript/?compare={w.secret_version.pk}",
        f"/m/weekly-sync/transcript/export.json?version={w.secret_version.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get("/m/weekly-sync/transcript/?version=1%20OR%201=1").status_code == 404

    url = f"/m/weekly-sync/segments/{w.secret_segment.pk}/correct/"
    assert client.post(url, {"text": "Hijacked."}).status_code == 404
    client.post("/m/weekly-sync/speakers/rename/", {"old_name": "Charlie", "new_name": "X"})
    w.secret_segment.refresh_from_db()
    assert w.secret_segment.text == "The merger is confidential."
    assert w.secret_segment.speaker_name == "Charlie"

    # members of other meetings cannot be changed or removed through this one
    assert client.post(f"/m/weekly-sync/participants/{w.charlie.pk}/remove/").status_code == 404
    role_url = f"/m/weekly-sync/participants/{w.charlie.pk}/role/"
    assert client.post(role_url, {"role": "listener"}).status_code == 404
    assert w.secret.role_of(w.charlie) == "host"


def test_search_finds_only_the_searchers_meetings(client, world):
    client.force_login(world.charlie)
    assert "Weekly sync at" not in client.get("/search/", {"q": "budget"}).content.decode()
    client.force_login(world.dave)
    page = client.get("/search/", {"q": "budget"}).content.decode()
    assert "Weekly sync at" in page and "The <mark>budget</mark> is approved" in page
    assert "Secret plans at" not in client.get("/search/", {"q": "merger"}).content.decode()


def test_join_links_need_the_current_code_and_never_open_a_personal_meeting(client, world):
    w = world
    client.force_login(w.charlie)
    client.get("/m/weekly-sync/join/not-the-code/")
    client.get(f"/m/secret/join/{w.meeting.join_code}/")  # a real code, of another meeting
    assert w.meeting.role_of(w.charlie) is None

    personal = Meeting.personal_for(w.alice)
    client.get(f"/m/{personal.slug}/join/{personal.join_code}/")
    assert personal.role_of(w.charlie) is None
    assert client.get(f"/m/{personal.slug}/").status_code == 403
    assert client.get(f"/m/{personal.slug}/transcript/export.txt").status_code == 403
    client.force_login(w.alice)
    assert client.get(f"/m/{personal.slug}/transcript/").status_code == 200

    old = w.meeting.join_code
    client.post("/m/weekly-sync/join-link/")
    client.force_login(w.charlie)
    client.get(f"/m/weekly-sync/join/{old}/")
    assert w.meeting.role_of(w.charlie) is None


def test_staff_are_not_hosts_of_every_meeting_only_superusers_are(client, world):
    staff = world.factory.make_user("sam", is_staff=True)
    root = world.factory.make_user("root", is_staff=True, is_superuser=True)
    for url in ("/m/secret/", "/m/secret/transcript/export.srt"):
        assert status(client, staff, "GET", url) == 403
        assert status(client, root, "GET", url) == 200


def test_jobs_belong_to_the_user_who_created_them(client, world):
    upload = AudioUpload.objects.create(
        owner=world.bob, file="uploads/x.wav", original_name="x.wav"
    )
    job = TranscriptionJob.objects.create(
        upload=upload,
        created_by=world.bob,
        status=TranscriptionJob.Status.DONE,
        result={"text": "Bob's private memo.", "language": "en", "segments": []},
    )
    url = f"/api/jobs/{job.pk}"
    assert client.get(url).status_code == 401
    client.force_login(world.charlie)
    assert client.get(url).status_code == 404
    client.force_login(world.bob)
    assert client.get(url).json()["result"]["text"] == "Bob's private memo."
    # staff status opens the admin, not other people's jobs; the admin's permission does
    staff = world.factory.make_user("sam", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 404
    staff.user_permissions.add(Permission.objects.get(codename="view_transcriptionjob"))
    assert client.get(url).json()["result"]["text"] == "Bob's private memo."


def test_recordings_are_not_served_to_anyone(client, world):
    name = "recordings/weekly-sync/0123abcd.wav"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    Recording.objects.create(meeting=world.meeting, speaker=world.bob, file=name)
    for user in (None, world.charlie, world.alice):
        assert status(client, user, "GET", f"/media/{name}") == 404


def test_only_hosts_see_the_member_controls(client, world):
    client.force_login(world.bob)
    page = client.get("/m/weekly-sync/").content.decode()
    assert "/participants/" not in page and "join-link" not in page
    client.force_login(world.alice)
    page = client.get("/m/weekly-sync/").content.decode()
    assert f"/m/weekly-sync/participants/{world.bob.pk}/remove/" in page
    # the owner can be neither removed nor demoted
    assert f"/participants/{world.alice.pk}/" not in page
