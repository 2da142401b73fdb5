"""Who is connected, across every server process: one expiring lease per open connection.

Each connection holds two leases (:mod:`meetings.live_state`): one in its user's set (for
CAPTIONS_MAX_CONNECTIONS_PER_USER) and, for rooms, one in its room's (who is in the room). A
live connection renews them every third of CAPTIONS_CONNECTION_LEASE_SECONDS. A connection
whose process died renews nothing, so its leases lapse within that time: neither a user's
quota nor a room's presence can leak, whatever happens to a process.
"""

from __future__ import annotations

import time
from collections import Counter

from django.conf import settings

from meetings.live_state import Hold, backend


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
