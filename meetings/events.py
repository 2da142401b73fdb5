"""The payloads of shared/PROTOCOL.md, server → client, in one place.

The same dictionaries travel over the channel layer (wrapped as
``{"type": <handler>, "event": payload}``) and go to browsers as JSON.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class SpeakerInfo(TypedDict):
    id: int
    name: str


class ParticipantInfo(TypedDict):
    id: int
    name: str
    role: str
    #: open connections of this person to the room, on every server process
    connections: NotRequired[int]


class CaptionPartial(TypedDict):
    type: str  # "caption.partial"
    speaker: SpeakerInfo
    item_id: str
    text: str


class CaptionFinal(TypedDict):
    type: str  # "caption.final"
    speaker: SpeakerInfo
    item_id: str
    segment_id: int
    text: str
    start_ms: int
    end_ms: int
    confidence: float | None
    language: str


class SpeechEvent(TypedDict):
    type: str  # "speech.started" | "speech.stopped"
    speaker: SpeakerInfo
    item_id: str
    audio_ms: int


class ParticipantEvent(TypedDict):
    type: str  # "participant.joined" | "participant.left"
    participant: ParticipantInfo


class ErrorEvent(TypedDict):
    type: str  # "error"
    code: str
    message: str


def room_group(meeting_id: int) -> str:
    return f"meeting.{meeting_id}"


def user_group(user_id: int) -> str:
    """Every open connection of one user, on every server process."""
    return f"user.{user_id}"


#: channel-layer message to a user's group: their rights changed, check them again
ACCESS_CHANGED = "user.access_changed"


def handler_name(event_type: str) -> str:
    """Channel-layer message type for an event: caption.final → room.caption_final."""
    return "room." + event_type.replace(".", "_")


def error_event(code: str, message: str) -> ErrorEvent:
    return {"type": "error", "code": code, "message": message}
