"""Which languages a room's listeners chose, across every server process.

Each connection that chose a language holds a lease in the room's Redis sorted set
(``<language>:<channel name>``, scored by when it expires), renewed like presence's
(:mod:`transcription.live.presence`). The process that stores a final translates it into every
language with a live lease, so a connection whose process died stops costing translations
within CAPTIONS_CONNECTION_LEASE_SECONDS.
"""

from __future__ import annotations

import time

import redis.asyncio as redis
from django.conf import settings

from transcription.live.presence import lease_seconds

# The embedded demo has one process and no Redis: meeting id → {channel name: language}
_local: dict[int, dict[str, str]] = {}


def _key(meeting_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:translation:{meeting_id}"


class LanguageLease:
    """One connection's chosen language in its room."""

    def __init__(self, meeting_id: int, connection_id: str, language: str) -> None:
        self.meeting_id = meeting_id
        self.connection_id = connection_id
        self.member = f"{language}:{connection_id}"

    async def renew(self) -> None:
        if settings.EMBEDDED:
            language = self.member.partition(":")[0]
            _local.setdefault(self.meeting_id, {})[self.connection_id] = language
            return
        expires = time.time() + lease_seconds()
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            async with client.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(_key(self.meeting_id), "-inf", time.time())
                pipe.zadd(_key(self.meeting_id), {self.member: expires})
                pipe.expire(_key(self.meeting_id), int(lease_seconds()) + 1)
                await pipe.execute()
        finally:
            await client.aclose()

    async def release(self) -> None:
        if settings.EMBEDDED:
            _local.get(self.meeting_id, {}).pop(self.connection_id, None)
            return
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            await client.zrem(_key(self.meeting_id), self.member)
        finally:
            await client.aclose()


async def chosen_languages(meeting_id: int) -> set[str]:
    """The languages some live connection to the room chose, on every server process."""
    if settings.EMBEDDED:
        return set(_local.get(meeting_id, {}).values())
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        found = await client.zrangebyscore(_key(meeting_id), time.time(), "+inf")
    finally:
        await client.aclose()
    return {member.decode().partition(":")[0] for member in found}
