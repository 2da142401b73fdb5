"""What the caption viewer's socket sends (docs/PROTOCOL.md, "Caption links").

A viewer sees less than a participant: a caption's text and its speaker's name, never ids,
confidences or anything else said in the room.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

#: the finals a viewer gets when it connects: enough to fill a projector's few lines
HISTORY_LINES = 10


class ViewerSpeaker(TypedDict):
    name: str


class ViewerCaption(TypedDict):
    type: Literal["caption.partial", "caption.final"]
    item_id: str
    text: str
    speaker: ViewerSpeaker


class ViewerMeetingState(TypedDict):
    type: Literal["meeting.ended", "meeting.reopened"]


class ViewerReady(TypedDict):
    type: Literal["viewer.ready"]
    #: whether the meeting has ended (a host may start it again)
    ended: bool
    history: list[ViewerCaption]


class ViewerRevoked(TypedDict):
    type: Literal["viewer.revoked"]
    message: str


REVOKED_MESSAGE = "This caption link was revoked by a host of the meeting."
MAKER_MESSAGE = (
    "This caption link stopped: whoever made it may no longer share this meeting's captions."
)
#: what an open viewer is told, by CaptionLink.why_stopped()
STOPPED_MESSAGES = {"revoked": REVOKED_MESSAGE, "maker": MAKER_MESSAGE}


def viewer_caption(event: dict[str, Any]) -> ViewerCaption:
    """A room's caption.partial or caption.final as a viewer sees it."""
    return {
        "type": event["type"],
        "item_id": event["item_id"],
        "text": event["text"],
        "speaker": {"name": event["speaker"]["name"]},
    }


def viewer_ready(ended: bool, history: list[dict[str, Any]]) -> ViewerReady:
    return {
        "type": "viewer.ready",
        "ended": ended,
        "history": [viewer_caption(event) for event in history],
    }


def viewer_revoked(message: str = REVOKED_MESSAGE) -> ViewerRevoked:
    return {"type": "viewer.revoked", "message": message}


def link_group(link_id: int) -> str:
    """Every open viewer of one caption link, on every server process."""
    return f"caption_link.{link_id}"


#: channel-layer message to a link's group: the link was revoked
LINK_REVOKED = "caption_link.revoked"
