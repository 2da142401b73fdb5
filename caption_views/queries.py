"""Named reads of caption links, for the viewer's consumer (which touches no ORM itself)."""

from __future__ import annotations

from meetings import events as room_events
from meetings import queries as meeting_queries

from . import events
from .models import CaptionLink


def active_link(token: str) -> CaptionLink | None:
    """The link of ``token``, with its meeting and maker, if it still works."""
    return CaptionLink.active_for_token(token)


def why_link_stopped(link_id: int) -> str:
    """Why the link no longer works ("revoked", …), or "" while it does: read afresh, as the
    maker's account and roles are what change."""
    links = CaptionLink.objects.select_related("meeting", "created_by")
    fresh = links.filter(pk=link_id).first()
    return "revoked" if fresh is None else fresh.why_stopped()


def viewer_ready(link: CaptionLink) -> events.ViewerReady:
    """The viewer's first event: whether the meeting has ended, and its last finals."""
    meeting = link.meeting
    finals = meeting_queries.recent_finals(meeting, events.HISTORY_LINES)
    return events.viewer_ready(
        meeting.ended_at is not None, [room_events.caption_final(segment) for segment in finals]
    )
