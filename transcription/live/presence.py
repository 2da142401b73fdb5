"""Who is connected, across every server process: one expiring lease per open connection.

Each connection holds two leases (:mod:`meetings.live_state`): one in its user's set (for
CAPTIONS_MAX_CONNECTIONS_PER_USER) and, for rooms, one in its room's (who is in the room). A
live connection renews them every third of CAPTIONS_CONNECTION_LEASE_SECONDS. A connection
whose process died renews nothing, so its leases lapse within that time: neither a user's
quota nor a room's presence can leak, whatever happens to a process.

The room hears who came and went in batches (:class:`RoomPresence`): each process tells each of
its rooms at most once every CAPTIONS_PRESENCE_BATCH_SECONDS, so a thousand joins cost a message a
second to everyone, not a thousand each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from django.conf import settings

from meetings import actions, events
from meetings.live_state import Hold, backend

logger = logging.getLogger(__name__)

#: the most people one presence.changed names (the rest are counted in ``more``)
MOST_CHANGES_LISTED = 50


def lease_seconds() -> float:
    return float(settings.CAPTIONS_CONNECTION_LEASE_SECONDS)


def _user_key(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:connections:{user_id}"


def _room_key(meeting_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:presence:{meeting_id}"


def _seen_key(meeting_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:seen:{meeting_id}"


def _seen_ttl() -> int:
    # Older than the idle limit, "when was someone last here" no longer changes the answer.
    return settings.MEETING_IDLE_END_MINUTES * 60 + int(lease_seconds()) + 60


class ConnectionLease:
    """One connection's place in its user's quota and, for rooms, in the room."""

    def __init__(self, connection_id: str, user_id: int, meeting_id: int | None) -> None:
        self.connection_id = connection_id
        self.user_id = user_id
        self.meeting_id = meeting_id
        self.room_member = f"{user_id}:{connection_id}"

    def _holds(self) -> list[Hold]:
        holds = [(_user_key(self.user_id), self.connection_id)]
        if self.meeting_id is not None:
            holds.append((_room_key(self.meeting_id), self.room_member))
        return holds

    async def acquire(self) -> bool:
        """Take a place; False when the user already holds all of theirs."""
        limit = settings.CAPTIONS_MAX_CONNECTIONS_PER_USER
        return await backend().acquire(self._holds(), lease_seconds(), limit)

    async def renew(self) -> None:
        await backend().renew(self._holds(), lease_seconds())
        await self._seen_now()

    async def release(self) -> None:
        await backend().release(self._holds())
        # someone was here until now: the idle sweep counts from the last one to leave
        await self._seen_now()

    async def _seen_now(self) -> None:
        if self.meeting_id is not None:
            await backend().mark(_seen_key(self.meeting_id), time.time(), _seen_ttl())


async def room_connections(meeting_id: int) -> dict[int, int]:
    """user id → number of live connections to the room, on every server process."""
    members = await backend().members(_room_key(meeting_id))
    return dict(Counter(int(member.partition(":")[0]) for member in members))


async def room_last_seen(meeting_id: int) -> float | None:
    """When someone was last connected to the room (a Unix time; now if someone is), or None
    when nobody has been for longer than MEETING_IDLE_END_MINUTES."""
    if await room_connections(meeting_id):
        return time.time()
    return await backend().read_mark(_seen_key(meeting_id))


async def room_connection_count(meeting_id: int) -> int:
    """Open connections to the room, on every server process (without reading who)."""
    return await backend().count(_room_key(meeting_id))


def batch_seconds() -> float:
    return float(settings.CAPTIONS_PRESENCE_BATCH_SECONDS)


class RoomPresence:
    """This process's presence changes, told to each room in one message per batch.

    A connection that opens or closes marks its person changed; the first mark starts the
    room's batch, which, CAPTIONS_PRESENCE_BATCH_SECONDS later, reads the room's connections once
    (every process's) and sends one presence.changed naming whose count changed. A batch task
    ends once a batch finds nothing new, so no task outlives its room's last change by more
    than a batch.
    """

    def __init__(self) -> None:
        self._changed: dict[int, dict[int, events.ParticipantInfo]] = {}
        self._batches: dict[int, asyncio.Task] = {}
        #: meeting id → (when read, person → connections): what a new connection is told
        self._read: dict[int, tuple[float, dict[int, int]]] = {}

    async def connections(self, meeting_id: int) -> dict[int, int]:
        """Person → connections to the room, read by this process at most once a batch: a
        storm of joins reads the room's presence a few times, not once each."""
        read_at, found = self._read.get(meeting_id, (float("-inf"), {}))
        if time.monotonic() - read_at >= batch_seconds():
            found = await room_connections(meeting_id)
            self._read[meeting_id] = (time.monotonic(), found)
        return found

    def changed(self, meeting_id: int, person: events.ParticipantInfo) -> None:
        loop = asyncio.get_running_loop()
        batch = self._batches.get(meeting_id)
        if batch is None or batch.done() or batch.get_loop() is not loop:
            # (a loop of its own: another test's, never this process's server loop)
            self._changed.pop(meeting_id, None)
            self._batches[meeting_id] = loop.create_task(self._tell_room(meeting_id))
        self._changed.setdefault(meeting_id, {})[person["id"]] = person

    async def _tell_room(self, meeting_id: int) -> None:
        while True:
            await asyncio.sleep(batch_seconds())
            changed = self._changed.pop(meeting_id, None)
            if not changed:
                # nothing awaited since the check: a change from now on starts a new batch
                del self._batches[meeting_id]
                self._read.pop(meeting_id, None)
                return
            try:
                await self._send(meeting_id, list(changed.values()))
            except Exception:  # Redis away: this batch is lost, the next one tells the counts
                logger.warning("could not tell room %s who came and went", meeting_id)

    async def _send(self, meeting_id: int, changed: list[events.ParticipantInfo]) -> None:
        in_room = await room_connections(meeting_id)
        self._read[meeting_id] = (time.monotonic(), in_room)
        listed = [
            {**person, "connections": in_room.get(person["id"], 0)}
            for person in changed[:MOST_CHANGES_LISTED]
        ]
        more = len(changed) - len(listed)
        event = events.presence_changed(sum(in_room.values()), listed, more)
        await actions.announce(meeting_id, event)


#: the one batcher of this process
rooms = RoomPresence()
