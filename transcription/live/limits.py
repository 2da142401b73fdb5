"""Per-user limits shared by every server process (counted in :mod:`meetings.live_state`), the
audio-rate budget, and the paid engine's minutes."""

from __future__ import annotations

import asyncio
import math
import time

from django.conf import settings

from meetings.budget import PAID_SECONDS
from meetings.live_state import backend

WINDOW_SECONDS = 60

#: bookmarks one user may add in any 60 s: a person marks moments, a script would flood the room
BOOKMARKS_PER_MINUTE = 20


async def allow_forced_decode(user_id: int) -> bool:
    """Count a commit (or stop) that ends an utterance early; False past the user's limit.

    Each one starts a beam-5 decode, the costliest work the server does. Without a limit, a
    few sockets sending "a little speech, commit" in a loop would take every core from every
    room's finals. The limit is per user, across all their connections and server processes:
    CAPTIONS_MAX_COMMITS_PER_MINUTE in any 60 seconds.
    """
    return await _take("commits", user_id, settings.CAPTIONS_MAX_COMMITS_PER_MINUTE)


async def allow_bookmark(user_id: int) -> bool:
    """Count a bookmark; False past BOOKMARKS_PER_MINUTE for the user, over all connections.

    Each one is a row and a broadcast to everyone in the room.
    """
    return await _take("bookmarks", user_id, BOOKMARKS_PER_MINUTE)


async def allow_translation_choice(user_id: int, meeting_id: int) -> bool:
    """Count a listener choosing a language; False past the user's or the room's limit.

    Each choice has the room's recent finals translated into it (what is not stored yet: a chat
    request each, paid for by the operator). CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE per
    user and CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE per meeting, in any 60 seconds.
    """
    per_user = settings.CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE
    per_room = settings.CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE
    return await _take("translation_choices", user_id, per_user) and await _take(
        "room_translation_choices", meeting_id, per_room
    )


async def allow_paid_session(user_id: int, meeting_id: int) -> bool:
    """Count a speaker session opened on a paid engine; False past the user's or the room's
    limit (PAID_ENGINE_SESSIONS_PER_MINUTE each, in any 60 seconds). Each one opens a session
    with the paid service, and a client that starts and stops in a loop would open many."""
    limit = settings.PAID_ENGINE_SESSIONS_PER_MINUTE
    return await _take("paid_sessions", user_id, limit) and await _take(
        "room_paid_sessions", meeting_id, limit
    )


async def allow_caption_view(link_id: int, per_minute: int) -> bool:
    """Count a caption-link viewer connecting; False past ``per_minute`` for the link."""
    return await _take("caption_view_connects", link_id, per_minute)


async def _take(kind: str, user_id: int, limit: int) -> bool:
    """One more of ``kind`` for the user, if fewer than ``limit`` in the last 60 s."""
    key = f"{settings.REDIS_KEY_PREFIX}:{kind}:{user_id}"
    return await backend().take(key, WINDOW_SECONDS, limit)


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


class PaidAudio:
    """A speaker's audio on a paid engine, counted against the meeting's and the day's budget of
    minutes (:data:`meetings.budget.PAID_SECONDS`), in Redis every COUNT_EVERY seconds of it
    rather than every frame."""

    COUNT_EVERY = 10.0

    def __init__(self, meeting_id: int) -> None:
        self.meeting_id = meeting_id
        self.uncounted = 0.0

    async def refusal(self) -> str | None:
        """Why no more may be captioned on the paid engine, for people; None while it may."""
        return await asyncio.to_thread(PAID_SECONDS.refusal, self.meeting_id)

    async def spend(self, seconds: float) -> str | None:
        """Count ``seconds`` more; the refusal once they spent what was left."""
        self.uncounted += seconds
        if self.uncounted < self.COUNT_EVERY:
            return None
        await self.count(int(self.uncounted))
        return await self.refusal()

    async def finish(self) -> None:
        """At the session's end: its last seconds, rounded up."""
        await self.count(math.ceil(self.uncounted))

    async def count(self, seconds: int) -> None:
        self.uncounted = max(0.0, self.uncounted - seconds)
        await asyncio.to_thread(PAID_SECONDS.add, self.meeting_id, seconds)


class SpeakerSeats:
    """The speakers this process captions at once: past CAPTIONS_MAX_SPEAKERS one more is
    refused (``server_busy``) rather than every room's captions falling behind. Listeners take
    no seat, and a refused speaker stays in the room as one.

    A seat is held from the first audio of a speaking session to its end, by the connection's
    channel name; taking or releasing twice is harmless.
    """

    def __init__(self) -> None:
        self.holders: set[str] = set()

    def take(self, holder: str) -> bool:
        if holder in self.holders:
            return True
        if len(self.holders) >= settings.CAPTIONS_MAX_SPEAKERS:
            return False
        self.holders.add(holder)
        return True

    def release(self, holder: str) -> None:
        self.holders.discard(holder)


seats = SpeakerSeats()
