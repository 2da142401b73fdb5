"""Meetings that everyone left end by themselves (the worker's sweep, transcription.live.idle).

Real PostgreSQL and Redis: who is in a room is read from the presence leases that open
connections hold, as in production.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.utils import timezone

from meetings.models import Meeting
from transcription.live import presence
from transcription.live.idle import end_idle_meetings

LONG_AGO = timedelta(minutes=45)  # past the default MEETING_IDLE_END_MINUTES (30)


@pytest.fixture
def quiet(cast):
    """Weekly sync: started and last spoken in 45 minutes ago, nobody connected since."""
    meeting = cast.meeting
    meeting.started_at = timezone.now() - LONG_AGO - timedelta(minutes=10)
    meeting.save(update_fields=["started_at"])
    cast.factory.make_segment(meeting, cast.bob, created_at=timezone.now() - LONG_AGO)
    return meeting


@pytest.fixture
def lease(cast, quiet):
    """An open connection of dave's to the room, as a consumer holds it."""
    held = presence.ConnectionLease("test-channel", cast.dave.pk, quiet.pk)
    assert async_to_sync(held.acquire)()
    yield held
    async_to_sync(held.release)()


def swept(meeting: Meeting, capture) -> tuple[bool, list]:
    """Run the sweep (its broadcasts too); whether it ended the meeting, and the callbacks."""
    before = Meeting.objects.get(pk=meeting.pk).ended_at
    with capture(execute=True) as callbacks:
        ended = meeting in end_idle_meetings()
    meeting.refresh_from_db()
    assert ended == (before is None and meeting.ended_at is not None)
    return ended, callbacks


def test_it_ends_a_meeting_nobody_is_in_or_speaks_in(quiet, django_capture_on_commit_callbacks):
    ended, callbacks = swept(quiet, django_capture_on_commit_callbacks)
    assert ended
    assert len(callbacks) == 1  # meeting.ended, by nobody, for anyone who just came in
    again, callbacks = swept(quiet, django_capture_on_commit_callbacks)
    assert not again and callbacks == []
    assert quiet.ended_at is not None


def test_it_leaves_a_meeting_someone_is_connected_to(
    quiet, lease, django_capture_on_commit_callbacks
):
    assert swept(quiet, django_capture_on_commit_callbacks)[0] is False


def test_it_waits_the_idle_time_after_the_last_one_left(
    quiet, lease, django_capture_on_commit_callbacks
):
    async_to_sync(lease.release)()  # dave left just now
    assert async_to_sync(presence.room_connections)(quiet.pk) == {}
    assert swept(quiet, django_capture_on_commit_callbacks)[0] is False


def test_it_leaves_a_meeting_with_a_recent_final(cast, quiet, django_capture_on_commit_callbacks):
    cast.factory.make_segment(quiet, cast.bob)  # stored now
    assert swept(quiet, django_capture_on_commit_callbacks)[0] is False


def test_it_leaves_meetings_that_never_started_or_ended_already(
    cast, django_capture_on_commit_callbacks
):
    never = cast.factory.make_meeting(cast.alice, title="Planning")
    Meeting.objects.filter(pk=never.pk).update(created_at=timezone.now() - LONG_AGO * 10)
    assert swept(never, django_capture_on_commit_callbacks)[0] is False

    ended_at = timezone.now() - LONG_AGO
    Meeting.objects.filter(pk=cast.meeting.pk).update(
        started_at=ended_at - LONG_AGO, ended_at=ended_at
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        end_idle_meetings()
    cast.meeting.refresh_from_db()
    assert cast.meeting.ended_at == ended_at and callbacks == []


def test_it_honours_the_setting(quiet, settings, django_capture_on_commit_callbacks):
    settings.MEETING_IDLE_END_MINUTES = 60
    assert swept(quiet, django_capture_on_commit_callbacks)[0] is False
    settings.MEETING_IDLE_END_MINUTES = 40
    assert swept(quiet, django_capture_on_commit_callbacks)[0] is True


def test_the_command_runs_one_sweep(quiet):
    out = StringIO()
    call_command("end_idle_meetings", stdout=out)
    quiet.refresh_from_db()
    assert quiet.ended_at is not None
    assert "weekly-sync ended" in out.getvalue()
