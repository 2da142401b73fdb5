"""Anyone in the room marks the moment: stored on the meeting's clock, heard by everyone.

Through the real ASGI application and the real Redis channel layer; alice hosts, bob speaks,
dave listens, charlie is an outsider (tests/base.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from meetings import actions, events
from meetings.models import Bookmark, Meeting
from tests.base import communicator
from tests.live.streaming import collect
from tests.test_meeting_end import ROOM, joined, until
from transcription.live import limits


def bookmarks_of(meeting: Meeting) -> list[Bookmark]:
    return list(Bookmark.objects.filter(meeting=meeting).order_by("id"))


async def test_it_lets_listeners_and_speakers_bookmark_for_the_whole_room(live_cast):
    started = timezone.now() - timedelta(seconds=90)
    await database_sync_to_async(Meeting.objects.filter(pk=live_cast.meeting.pk).update)(
        started_at=started
    )
    alice, bob, dave = [await joined(u) for u in (live_cast.alice, live_cast.bob, live_cast.dave)]
    assert alice.ready["bookmarks"] == []

    await dave.send_json_to({"type": "bookmark.add", "note": "  The budget decision  "})
    for comm in (alice, bob, dave):
        added = (await collect(comm, until("bookmark.added"), within=5))[-1]["bookmark"]
        assert added["author"] == {"id": live_cast.dave.pk, "name": "Dave"}
        assert added["note"] == "The budget decision"
        assert 90_000 <= added["at_ms"] < 100_000  # on the meeting's clock
    await bob.send_json_to({"type": "bookmark.add"})  # the note is optional
    assert (await collect(alice, until("bookmark.added"), within=5))[-1]["bookmark"]["note"] == ""

    stored = await database_sync_to_async(bookmarks_of)(live_cast.meeting)
    assert [(b.author_id, b.author_name) for b in stored] == [
        (live_cast.dave.pk, "Dave"),
        (live_cast.bob.pk, "Bob"),
    ]
    # who comes in later reads them in session.ready, earliest moment first
    late = await joined(live_cast.alice)
    assert [b["id"] for b in late.ready["bookmarks"]] == [b.pk for b in stored]
    assert late.ready["bookmarks"][0] == added
    for comm in (alice, bob, dave, late):
        await comm.disconnect()


async def test_an_outsider_cannot_bookmark(live_cast):
    outsider = await communicator(ROOM, live_cast.charlie)
    await outsider.connect()
    assert (await outsider.receive_output(timeout=5))["code"] == 4403
    anonymous = await communicator(ROOM)
    await anonymous.connect()
    assert (await anonymous.receive_output(timeout=5))["code"] == 4401
    assert await database_sync_to_async(bookmarks_of)(live_cast.meeting) == []


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("x" * (Bookmark.NOTE_MAX_LENGTH + 1), "should have at most 200 characters"),
        ("first line\nsecond line", "must be one line without control characters"),
        ("a bell \x07", "must be one line without control characters"),
        ("reversed \u202e text", "must be one line without control characters"),
        (42, "Input should be a valid string"),
    ],
)
async def test_an_invalid_bookmark_is_refused_and_the_connection_stays(live_cast, note, reason):
    dave = await joined(live_cast.dave)
    await dave.send_json_to({"type": "bookmark.add", "note": note})
    error = (await collect(dave, until("error"), within=5))[-1]
    assert error["code"] == "invalid_message"
    assert error["message"].startswith("bookmark.add: note ")
    assert reason in error["message"]
    await dave.send_json_to({"type": "ping"})
    await collect(dave, until("pong"), within=5)
    assert await database_sync_to_async(bookmarks_of)(live_cast.meeting) == []
    await dave.disconnect()


async def test_bookmarks_are_rate_limited_per_user(live_cast, monkeypatch):
    monkeypatch.setattr(limits, "BOOKMARKS_PER_MINUTE", 2)
    dave = await joined(live_cast.dave)
    for _ in range(2):
        await dave.send_json_to({"type": "bookmark.add"})
        await collect(dave, until("bookmark.added"), within=5)
    await dave.send_json_to({"type": "bookmark.add", "note": "one too many"})
    assert (await collect(dave, until("error"), within=5))[-1]["code"] == "rate_limited"
    assert len(await database_sync_to_async(bookmarks_of)(live_cast.meeting)) == 2
    await dave.disconnect()


async def test_a_personal_transcript_has_no_bookmarks(live_cast):
    own = await joined(live_cast.alice, "/ws/realtime/transcribe")
    assert own.ready["bookmarks"] == []
    await own.send_json_to({"type": "bookmark.add"})
    assert (await collect(own, until("error"), within=5))[-1]["code"] == "invalid_message"
    await own.disconnect()


@pytest.mark.django_db
def test_the_action_stores_then_tells_the_room_after_commit(
    cast, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    inbox = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.room_group(cast.meeting.pk), inbox)

    # before anyone spoke the clock has not started: the moment is 0, and it stays unstarted
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        bookmark = actions.do_add_bookmark(cast.meeting, cast.dave, "Before we start")
    assert len(callbacks) == 1
    assert bookmark.at_ms == 0
    assert Meeting.objects.get(pk=cast.meeting.pk).started_at is None
    message = async_to_sync(layer.receive)(inbox)
    assert message == {
        "type": "room.bookmark_added",
        "event": {
            "type": "bookmark.added",
            "bookmark": {
                "id": bookmark.pk,
                "author": {"id": cast.dave.pk, "name": "Dave"},
                "at_ms": 0,
                "note": "Before we start",
                "created_at": bookmark.created_at.isoformat(),
            },
        },
    }
    # the author's name stays as written when the account goes
    cast.dave.delete()
    bookmark.refresh_from_db()
    assert (bookmark.author_id, bookmark.author_name) == (None, "Dave")
    assert events.bookmark_info(bookmark)["author"] == {"id": 0, "name": "Dave"}
