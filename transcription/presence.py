"""Who is in which room right now, across every server process (a Redis hash per meeting)."""

from __future__ import annotations

from collections import Counter

import redis.asyncio as redis
from django.conf import settings

PRESENCE_TTL = 6 * 3600  # a crashed process must not keep people "in the room" for ever

# The embedded demo has one process and no Redis.
_local: dict[int, Counter] = {}


def _key(meeting_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:presence:{meeting_id}"


async def change(meeting_id: int, user_id: int, delta: int) -> int:
    """Add ``delta`` to the user's open connections to the room; the new count."""
    if settings.EMBEDDED:
        counts = _local.setdefault(meeting_id, Counter())
        counts[user_id] = max(0, counts[user_id] + delta)
        return counts[user_id]
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        key = _key(meeting_id)
        count = await client.hincrby(key, str(user_id), delta)
        if count <= 0:
            await client.hdel(key, str(user_id))
        await client.expire(key, PRESENCE_TTL)
        return max(0, count)
    finally:
        await client.aclose()


async def connections(meeting_id: int) -> dict[int, int]:
    """user id → number of open connections to the room."""
    if settings.EMBEDDED:
        return {user: n for user, n in _local.get(meeting_id, Counter()).items() if n > 0}
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        found = await client.hgetall(_key(meeting_id))
    finally:
        await client.aclose()
    return {int(user): int(n) for user, n in found.items() if int(n) > 0}
