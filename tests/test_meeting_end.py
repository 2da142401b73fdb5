"""A host ends the meeting: the room hears it on every connection, and audio is refused after.

Through the real ASGI application and the real Redis channel layer; alice hosts, bob speaks,
dave listens (tests/base.py). Ending in the middle of speech is in tests/live/test_meeting_end.py.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from meetings import actions, events, signals
from meetings.models import Meeting
from tests.base import communicator
from tests.live.streaming import collect, of_type, silence

ROOM = "/ws/meetings/weekly-sync/"


async def joined(user, path: str = ROOM):
    comm = await communicator(path, user)
    assert (await comm.connect())[0]
    ready = await comm.receive_json_from(timeout=5)
    assert ready["type"] == "session.ready"
    comm.ready = ready
    return comm


async def ended_at(meeting: Meeting):
    await database_sync_to_async(meeting.refresh_from_db)(fields=["ended_at"])
    return meeting.ended_at


def until(kind: str):
    return lambda event: event["type"] == kind


async def test_it_lets_only_hosts_end_the_meeting(live_cast):
    bob, dave = await joined(live_cast.bob), await joined(live_cast.dave)
    for comm in (bob, dave):
        await comm.send_json_to({"type": "meeting.end"})
        refused = await collect(comm, until("error"), within=5)
        assert refused[-1]["code"] == "forbidden"
        # still connected, and nothing ended
        await comm.send_json_to({"type": "ping"})
        assert of_type(await collect(comm, until("pong"), within=5), "meeting.ended") == []
    assert await ended_at(live_cast.meeting) is None
    for comm in (bob, dave):
        await comm.disconnect()


async def test_a_host_ends_it_for_everyone_in_the_room(live_cast):
    alice, dave = await joined(live_cast.alice), await joined(live_cast.dave)
    assert alice.ready["meeting"]["ended_at"] is None
    await alice.send_json_to({"type": "meeting.end"})
    for comm in (alice, dave):
        ended = (await collect(comm, until("meeting.ended"), within=5))[-1]
        assert ended["by"] == {"id": live_cast.alice.pk, "name": "Alice"}
    stored = await ended_at(live_cast.meeting)
    assert ended["ended_at"] == stored.isoformat()

    # Once is enough: a second end changes nothing and says so.
    await alice.send_json_to({"type": "meeting.end"})
    assert (await collect(alice, until("error"), within=5))[-1]["code"] == "meeting_ended"
    assert await ended_at(live_cast.meeting) == stored
    # Who comes in later reads it in session.ready.
    late = await joined(live_cast.bob)
    assert late.ready["meeting"]["ended_at"] == stored.isoformat()
    for comm in (alice, dave, late):
        await comm.disconnect()


async def test_audio_into_an_ended_meeting_is_refused_once(live_cast):
    await database_sync_to_async(live_cast.meeting.end)()
    bob = await joined(live_cast.bob)
    await bob.send_json_to({"type": "session.start", "sample_rate": 16000})
    for _ in range(3):
        await bob.send_to(bytes_data=silence(0.1))
    await bob.send_json_to({"type": "ping"})
    answers = await collect(bob, until("pong"), within=5)
    assert [e["code"] for e in of_type(answers, "error")] == ["meeting_ended"]
    # nothing was opened: no recording, no clock
    recordings = await database_sync_to_async(live_cast.meeting.recordings.count)()
    assert recordings == 0
    await bob.disconnect()


async def test_a_host_starts_it_again(live_cast):
    await database_sync_to_async(live_cast.meeting.end)()
    alice, bob = await joined(live_cast.alice), await joined(live_cast.bob)
    await bob.send_json_to({"type": "meeting.reopen"})
    assert (await collect(bob, until("error"), within=5))[-1]["code"] == "forbidden"

    await alice.send_json_to({"type": "meeting.reopen"})
    for comm in (alice, bob):
        reopened = (await collect(comm, until("meeting.reopened"), within=5))[-1]
        assert reopened["by"]["id"] == live_cast.alice.pk
    assert await ended_at(live_cast.meeting) is None
    await alice.send_json_to({"type": "meeting.reopen"})
    assert (await collect(alice, until("error"), within=5))[-1]["code"] == "invalid_message"
    for comm in (alice, bob):
        await comm.disconnect()


async def test_a_personal_transcript_has_no_end(live_cast):
    own = await joined(live_cast.alice, "/ws/realtime/transcribe")
    await own.send_json_to({"type": "meeting.end"})
    assert (await collect(own, until("error"), within=5))[-1]["code"] == "invalid_message"
    await own.disconnect()


@pytest.mark.django_db
def test_the_action_ends_once_and_tells_the_room_after_commit(
    cast, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    inbox = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.room_group(cast.meeting.pk), inbox)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert actions.do_end_meeting(cast.meeting, cast.alice)
    assert len(callbacks) == 1
    message = async_to_sync(layer.receive)(inbox)
    assert message["type"] == "room.meeting_ended"
    assert message["event"] == {
        "type": "meeting.ended",
        "ended_at": cast.meeting.ended_at.isoformat(),
        "by": {"id": cast.alice.pk, "name": "Alice"},
    }

    # ended already (by another host, or the sweep): nothing is written or said
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert not actions.do_end_meeting(Meeting.objects.get(pk=cast.meeting.pk), None)
    assert callbacks == []

    with django_capture_on_commit_callbacks(execute=True):
        assert actions.do_reopen_meeting(cast.meeting, cast.alice)
    assert async_to_sync(layer.receive)(inbox)["event"]["type"] == "meeting.reopened"
    assert Meeting.objects.get(pk=cast.meeting.pk).ended_at is None


@pytest.mark.django_db
def test_the_apps_built_on_the_core_hear_of_the_end_once_after_commit(
    cast, django_capture_on_commit_callbacks, caplog
):
    heard = []

    def listener(sender, meeting, by, **kwargs):
        heard.append((meeting.pk, by))

    def broken(sender, **kwargs):
        raise RuntimeError("a receiver's bug")

    signals.meeting_ended.connect(listener)
    signals.meeting_ended.connect(broken)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            assert actions.do_end_meeting(cast.meeting, cast.alice)
        assert heard == []  # nothing before the end is committed
        for callback in callbacks:
            callback()
        # a receiver that fails neither undoes the end nor keeps the others from hearing
        assert heard == [(cast.meeting.pk, cast.alice)]
        assert "failed on meeting.ended" in caplog.text

        with django_capture_on_commit_callbacks(execute=True):
            assert not actions.do_end_meeting(Meeting.objects.get(pk=cast.meeting.pk), None)
        assert heard == [(cast.meeting.pk, cast.alice)]
    finally:
        signals.meeting_ended.disconnect(listener)
        signals.meeting_ended.disconnect(broken)
    assert Meeting.objects.get(pk=cast.meeting.pk).ended_at is not None
