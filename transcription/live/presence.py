"""Who is connected, across every server process: one expiring lease per open connection.

Each connection holds a lease in two Redis sorted sets, scored by the time it expires: its
user's (for CAPTIONS_MAX_CONNECTIONS_PER_USER) and its room's (who is in the room). A live
connection renews its lease every third of CAPTIONS_CONNECTION_LEASE_SECONDS. A connection
whose process died renews nothing, so its lease lapses within that time: neither a user's
quota nor a room's presence can leak, whatever happens to a process.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from django.conf import settings

# Atomic, so two processes cannot both take a user's last free place.
ACQUIRE = """
local now = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
local ttl = math.ceil(expires - now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], expires, ARGV[3])
redis.call('EXPIRE', KEYS[1], ttl)
if #KEYS > 1 then
  redis.call('ZADD', KEYS[2], expires, ARGV[5])
  redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
"""

# The embedded demo has one process and no Redis: a dead process takes its leases with it.
_local_users: dict[int, set[str]] = {}
_local_rooms: dict[int, set[str]] = {}
_local_seen: dict[int, float] = {}


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


@asynccontextmanager
async def _redis() -> AsyncIterator[redis.Redis]:
    # A client per call: redis-py's asyncio connections belong to the loop that opened them.
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


class ConnectionLease:
    """One connection's place in its user's quota and, for rooms, in the room."""

    def __init__(self, connection_id: str, user_id: int, meeting_id: int | None) -> None:
        self.connection_id = connection_id
        self.user_id = user_id
        self.meeting_id = meeting_id
        self.room_member = f"{user_id}:{connection_id}"

    def _keys(self) -> list[str]:
        keys = [_user_key(self.user_id)]
        if self.meeting_id is not None:
            keys.append(_room_key(self.meeting_id))
        return keys

    async def acquire(self) -> bool:
        """Take a place; False when the user already holds all of theirs."""
        if settings.EMBEDDED:
            held = _local_users.setdefault(self.user_id, set())
            if len(held) >= settings.CAPTIONS_MAX_CONNECTIONS_PER_USER:
                return False
            held.add(self.connection_id)
            if self.meeting_id is not None:
                _local_rooms.setdefault(self.meeting_id, set()).add(self.room_member)
            return True
        now = time.time()
        args = [now, now + lease_seconds(), self.connection_id]
        args += [settings.CAPTIONS_MAX_CONNECTIONS_PER_USER, self.room_member]
        async with _redis() as client:
            return bool(await client.eval(ACQUIRE, len(self._keys()), *self._keys(), *args))

    async def renew(self) -> None:
        if settings.EMBEDDED:
            return
        now = time.time()
        expires, ttl = now + lease_seconds(), int(lease_seconds()) + 1
        async with _redis() as client, client.pipeline(transaction=False) as pipe:
            pipe.zadd(_user_key(self.user_id), {self.connection_id: expires})
            pipe.expire(_user_key(self.user_id), ttl)
            if self.meeting_id is not None:
                pipe.zadd(_room_key(self.meeting_id), {self.room_member: expires})
                pipe.expire(_room_key(self.meeting_id), ttl)
                pipe.set(_seen_key(self.meeting_id), now, ex=_seen_ttl())
            await pipe.execute()

    async def release(self) -> None:
        if settings.EMBEDDED:
            _local_users.get(self.user_id, set()).discard(self.connection_id)
            if self.meeting_id is not None:
                _local_rooms.get(self.meeting_id, set()).discard(self.room_member)
                _local_seen[self.meeting_id] = time.time()
            return
        async with _redis() as client, client.pipeline(transaction=False) as pipe:
            pipe.zrem(_user_key(self.user_id), self.connection_id)
            if self.meeting_id is not None:
                pipe.zrem(_room_key(self.meeting_id), self.room_member)
                # someone was here until now: the idle sweep counts from the last one to leave
                pipe.set(_seen_key(self.meeting_id), time.time(), ex=_seen_ttl())
            await pipe.execute()


async def room_connections(meeting_id: int) -> dict[int, int]:
    """user id → number of live connections to the room, on every server process."""
    if settings.EMBEDDED:
        members = _local_rooms.get(meeting_id, set())
    else:
        async with _redis() as client:
            found = await client.zrangebyscore(_room_key(meeting_id), time.time(), "+inf")
        members = {member.decode() for member in found}
    return dict(Counter(int(member.partition(":")[0]) for member in members))


async def room_last_seen(meeting_id: int) -> float | None:
    """When someone was last connected to the room (a Unix time; now if someone is), or None
    when nobody has been for longer than MEETING_IDLE_END_MINUTES."""
    if await room_connections(meeting_id):
        return time.time()
    if settings.EMBEDDED:
        return _local_seen.get(meeting_id)
    async with _redis() as client:
        seen = await client.get(_seen_key(meeting_id))
    return float(seen) if seen is not None else None
