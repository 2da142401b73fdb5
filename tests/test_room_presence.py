"""Joining a big room costs the same whatever its size: session.ready says how many are there
and who speaks, the members come in pages on request, and who came and went reaches the room
in batches (docs/PROTOCOL.md, "session.ready" and "Presence")."""

from __future__ import annotations

import asyncio
import json

from channels.db import database_sync_to_async

from meetings.models import Membership

from .base import communicator
from .live.streaming import collect, of_type

ROOM = "/ws/meetings/weekly-sync/"


def add_listeners(cast, count: int) -> list:
    users = [cast.factory.make_user(f"listener{n:03}") for n in range(count)]
    for user in users:
        cast.meeting.add_member(user, Membership.Role.LISTENER)
    return users


async def joined(user):
    comm = await communicator(ROOM, user)
    assert (await comm.connect())[0]
    ready = await comm.receive_json_from(timeout=30)
    assert ready["type"] == "session.ready"
    return comm, ready


def told_of(users):
    """Until presence.changed events have named every one of ``users``."""
    waiting = {user.pk for user in users}

    def every_one_named(event: dict) -> bool:
        if event["type"] == "presence.changed":
            waiting.difference_update(p["id"] for p in event["changed"])
        return not waiting

    return every_one_named


async def test_it_sends_counts_and_speakers_not_every_member(live_cast):
    await database_sync_to_async(add_listeners)(live_cast, 150)
    comm, ready = await joined(live_cast.dave)

    assert "participants" not in ready
    assert ready["members"] == 153  # alice, bob, dave and the 150
    assert ready["connections"] == 1
    assert ready["speakers"] == [
        {"id": live_cast.alice.pk, "name": "Alice", "role": "host", "connections": 0},
        {"id": live_cast.bob.pk, "name": "Bob", "role": "speaker", "connections": 0},
    ]
    assert "Listener000" not in json.dumps(ready)
    await comm.disconnect()


async def test_it_pages_the_members_on_request(live_cast):
    listeners = await database_sync_to_async(add_listeners)(live_cast, 150)
    comm, _ = await joined(live_cast.dave)

    await comm.send_json_to({"type": "participants.list"})
    first = await comm.receive_json_from(timeout=10)
    assert first["type"] == "participants.page"
    assert len(first["participants"]) == 100 and first["next"] is not None
    await comm.send_json_to({"type": "participants.list", "after": first["next"]})
    second = await comm.receive_json_from(timeout=10)
    assert len(second["participants"]) == 53 and second["next"] is None

    everyone = first["participants"] + second["participants"]
    assert [p["id"] for p in everyone] == [
        live_cast.alice.pk,
        live_cast.bob.pk,
        live_cast.dave.pk,
        *(user.pk for user in listeners),
    ]
    here = {p["name"]: p["connections"] for p in everyone if p["connections"]}
    assert here == {"Dave": 1}

    await comm.send_json_to({"type": "participants.list", "after": "next"})
    refused = await comm.receive_json_from(timeout=10)
    assert refused["type"] == "error" and refused["code"] == "invalid_message"
    await comm.disconnect()


async def test_it_tells_the_room_who_came_and_went_in_batches(live_cast, settings):
    settings.CAPTIONS_PRESENCE_BATCH_SECONDS = 2.0
    listeners = await database_sync_to_async(add_listeners)(live_cast, 30)
    watcher, _ = await joined(live_cast.dave)

    arrived = await asyncio.gather(*(joined(user) for user in listeners))
    came = await collect(watcher, told_of(listeners), within=60)
    presence = of_type(came, "presence.changed")
    assert 1 <= len(presence) <= 5, "thirty joins, told in a few batches"
    assert presence[-1]["connections"] == 31
    named = [p for event in presence for p in event["changed"] if p["id"] != live_cast.dave.pk]
    assert sorted(p["id"] for p in named) == sorted(user.pk for user in listeners)
    assert {p["connections"] for p in named} == {1}
    assert all(event["more"] == 0 for event in presence)

    for comm, _ in arrived:
        await comm.disconnect()
    went = await collect(watcher, told_of(listeners), within=60)
    presence = of_type(went, "presence.changed")
    assert 1 <= len(presence) <= 5
    assert presence[-1]["connections"] == 1
    gone = {p["id"]: p["connections"] for event in presence for p in event["changed"]}
    assert gone == {user.pk: 0 for user in listeners}
    await watcher.disconnect()


async def test_it_counts_each_persons_connections(live_cast):
    first, _ = await joined(live_cast.bob)
    second, ready = await joined(live_cast.bob)
    assert ready["connections"] == 2

    await second.disconnect()
    went = await collect(first, lambda e: e["type"] == "presence.changed" and e["connections"] == 1)
    assert {"id": live_cast.bob.pk, "name": "Bob", "role": "speaker", "connections": 1} in went[-1][
        "changed"
    ]
    await first.disconnect()
