"""`manage.py create_meeting` sets up a room in one line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from meetings.models import Meeting, Membership, User


def test_it_creates_the_meeting_and_missing_users(db):
    out = StringIO()
    call_command(
        "create_meeting",
        "bench-room",
        "--owner",
        "host1",
        "--member",
        "s1",
        "--member",
        "s2",
        "--listener",
        "l1",
        "--title",
        "Bench",
        stdout=out,
    )
    meeting = Meeting.objects.get(slug="bench-room")
    assert meeting.title == "Bench"
    assert meeting.owner.username == "host1"
    roles = {m.user.username: m.role for m in meeting.memberships.select_related("user")}
    assert roles == {"host1": "host", "s1": "speaker", "s2": "speaker", "l1": "listener"}
    assert not User.objects.get(username="s1").has_usable_password()
    assert "4 participants" in out.getvalue()


def test_it_reuses_existing_users(cast):
    call_command(
        "create_meeting", "room-2", "--owner", "alice", "--member", "bob", stdout=StringIO()
    )
    meeting = Meeting.objects.get(slug="room-2")
    assert meeting.owner == cast.alice
    assert cast.alice.check_password("pw-alice")  # untouched
    assert meeting.role_of(cast.bob) == Membership.Role.SPEAKER


def test_it_refuses_a_taken_or_invalid_slug(cast):
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_meeting", "weekly-sync", "--owner", "alice")
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("create_meeting", "Not a slug!", "--owner", "alice")
