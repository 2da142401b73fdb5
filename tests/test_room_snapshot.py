"""Connections that join a room together share the reads of its snapshot (session.ready's end,
member count, speakers, history and bookmarks): a storm does not read it once per connection,
and each connection is still told all of it (transcription/live/snapshot.py)."""

from __future__ import annotations

import asyncio
from unittest import mock

from channels.db import database_sync_to_async

from meetings import queries
from meetings.models import Membership

from .base import communicator

ROOM = "/ws/meetings/weekly-sync/"
JOINING = 12


def set_up_room(cast) -> list:
    users = [cast.factory.make_user(f"listener{n:02}") for n in range(JOINING)]
    for user in users:
        cast.meeting.add_member(user, Membership.Role.LISTENER)
    cast.factory.make_segment(cast.meeting, cast.bob, text="Said before anyone came.")
    cast.meeting.bookmarks.create(author=cast.alice, at_ms=1000, note="The start")
    return users


async def joined(user):
    comm = await communicator(ROOM, user)
    assert (await comm.connect())[0]
    ready = await comm.receive_json_from(timeout=30)
    return comm, ready


async def test_it_reads_the_snapshot_once_for_those_who_join_together(live_cast):
    users = await database_sync_to_async(set_up_room)(live_cast)
    with mock.patch.object(
        queries, "room_snapshot", autospec=True, side_effect=queries.room_snapshot
    ) as read:
        joins = await asyncio.gather(*(joined(user) for user in users))

    assert read.call_count < JOINING
    for user, (_, ready) in zip(users, joins, strict=True):
        assert ready["type"] == "session.ready"
        assert ready["participant"]["id"] == user.pk
        assert ready["members"] == 3 + JOINING  # alice, bob, dave and the listeners
        assert ready["meeting"]["ended_at"] is None
        assert [final["text"] for final in ready["history"]] == ["Said before anyone came."]
        assert [bookmark["note"] for bookmark in ready["bookmarks"]] == ["The start"]
        assert [speaker["name"] for speaker in ready["speakers"]] == ["Alice", "Bob"]
    for comm, _ in joins:
        await comm.disconnect()


async def test_it_reads_again_for_who_joins_after_a_read(live_cast):
    users = await database_sync_to_async(set_up_room)(live_cast)
    first, _ = await joined(users[0])
    await database_sync_to_async(live_cast.factory.make_segment)(
        live_cast.meeting, live_cast.bob, text="Said after the first came."
    )
    second, ready = await joined(users[1])

    assert [final["text"] for final in ready["history"]] == [
        "Said before anyone came.",
        "Said after the first came.",
    ]
    await first.disconnect()
    await second.disconnect()
