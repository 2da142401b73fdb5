"""Named reads of stored translations, for the room's consumer (which touches no ORM itself)."""

from __future__ import annotations

from collections.abc import Sequence

from meetings.models import Segment

from .models import Translation


def stored_translations(segments: Sequence[Segment], language: str) -> dict[int, Translation]:
    """segment id → its current translation into ``language``, for those that have one."""
    return Translation.objects.for_segments(segments, language)
