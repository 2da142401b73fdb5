"""Per-user limits shared by every server process (in Redis), and the audio-rate budget."""

from __future__ import annotations

import time

import redis.asyncio as redis
from django.conf import settings

CONNECTION_KEY_TTL = 6 * 3600  # a crashed process must not lock a user out for ever


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _key(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:connections:{user_id}"


async def open_connection(user_id: int) -> bool:
    """Count a new connection; False (and not counted) when the user has too many."""
    if settings.EMBEDDED:
        return True
    client = _client()
    try:
        key = _key(user_id)
        count = await client.incr(key)
        await client.expire(key, CONNECTION_KEY_TTL)
        if count > settings.CAPTIONS_MAX_CONNECTIONS_PER_USER:
            await client.decr(key)
            return False
        return True
    finally:
        await client.aclose()


async def close_connection(user_id: int) -> None:
    if settings.EMBEDDED:
        return
    client = _client()
    try:
        if await client.decr(_key(user_id)) < 0:
            await client.set(_key(user_id), 0)
    finally:
        await client.aclose()


class AudioBudget:
    """Audio may arrive a little faster than real time (buffers after a stall), not much more.

    A token bucket in seconds of audio: it refills at CAPTIONS_MAX_AUDIO_RATE × real time and
    holds at most CAPTIONS_AUDIO_BURST_SECONDS.
    """

    def __init__(self) -> None:
        self.rate = settings.CAPTIONS_MAX_AUDIO_RATE
        self.capacity = float(settings.CAPTIONS_AUDIO_BURST_SECONDS)
        self.available = self.capacity
        self.updated = time.monotonic()

    def spend(self, seconds: float) -> bool:
        now = time.monotonic()
        self.available = min(self.capacity, self.available + (now - self.updated) * self.rate)
        self.updated = now
        if seconds > self.available:
            return False
        self.available -= seconds
        return True
