"""Which languages a room's listeners chose, across every server process.

Each connection that chose a language holds a lease in the room's set of chosen languages
(``<language>:<channel name>``, :mod:`meetings.live_state`), renewed like presence's
(:mod:`transcription.live.presence`). The process that stores a final translates it into every
language with a live lease, so a connection whose process died stops costing translations
within CAPTIONS_CONNECTION_LEASE_SECONDS.
"""

from __future__ import annotations

from django.conf import settings

from meetings.live_state import backend
from transcription.live.presence import lease_seconds


def _key(meeting_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:translation:{meeting_id}"


class LanguageLease:
    """One connection's chosen language in its room."""

    def __init__(self, meeting_id: int, connection_id: str, language: str) -> None:
        self.meeting_id = meeting_id
        self.connection_id = connection_id
        self.member = f"{language}:{connection_id}"

    async def renew(self) -> None:
        await backend().renew([(_key(self.meeting_id), self.member)], lease_seconds())

    async def release(self) -> None:
        await backend().release([(_key(self.meeting_id), self.member)])


async def chosen_languages(meeting_id: int) -> set[str]:
    """The languages some live connection to the room chose, on every server process."""
    members = await backend().members(_key(meeting_id))
    return {member.partition(":")[0] for member in members}
