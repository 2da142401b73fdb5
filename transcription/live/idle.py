"""Meetings that end by themselves: started, and nobody in them or speaking in them for a while.

A meeting ends when a host ends it; one that everyone simply left would otherwise stay live for
good. :func:`end_idle_meetings` runs every minute in ``manage.py transcription_worker`` (and
alone as ``manage.py end_idle_meetings``): the worker, not a web process, so that it happens
whatever becomes of the web processes. Who is in a room comes from the presence leases in Redis.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from meetings import actions, live_state
from meetings.models import Meeting

from . import presence

logger = logging.getLogger(__name__)

#: how often the worker sweeps
SWEEP_SECONDS = 60.0


def idle_limit() -> timedelta:
    return timedelta(minutes=settings.MEETING_IDLE_END_MINUTES)


def end_idle_meetings() -> list[Meeting]:
    """End every live room with no final, nobody in it and nobody having been in it for
    MEETING_IDLE_END_MINUTES. Returns the meetings this call ended."""
    if not live_state.backend().shared:
        # The demo's presence lives in the web process, out of the worker's sight: there,
        # meetings end when a host ends them.
        return []
    cutoff = timezone.now() - idle_limit()
    ended = [
        meeting for meeting in Meeting.objects.idle_since(cutoff) if end_if_idle(meeting, cutoff)
    ]
    for meeting in ended:
        logger.info("meeting %s ended by itself: idle since %s", meeting.pk, cutoff)
    return ended


def end_if_idle(meeting: Meeting, cutoff: datetime) -> bool:
    """End the meeting unless someone is in it or was after ``cutoff``; True if it ended."""
    seen = async_to_sync(presence.room_last_seen)(meeting.pk)
    if seen is not None and seen >= cutoff.timestamp():
        return False
    # Someone who connects now still hears of it: a connection reads the end after it joins.
    return actions.do_end_meeting(meeting, None)
