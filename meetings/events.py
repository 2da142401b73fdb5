"""Every event of docs/PROTOCOL.md the server sends, each built by one typed function.

The same dictionaries travel over the channel layer (wrapped as
``{"type": <handler>, "event": payload}``) and go to clients as JSON. Nothing else builds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

if TYPE_CHECKING:
    from .models import Bookmark, Meeting, Segment, User


class SpeakerInfo(TypedDict):
    id: int
    name: str


class ParticipantInfo(TypedDict):
    id: int
    name: str
    role: str
    #: open connections of this person to the room, on every server process
    connections: NotRequired[int]


class MeetingInfo(TypedDict):
    slug: str
    title: str
    language: str
    #: ISO 8601, or None while the meeting goes on
    ended_at: str | None


class CaptionPartial(TypedDict):
    type: Literal["caption.partial"]
    speaker: SpeakerInfo
    item_id: str
    text: str


class CaptionFinal(TypedDict):
    type: Literal["caption.final"]
    speaker: SpeakerInfo
    item_id: str
    segment_id: int
    text: str
    start_ms: int
    end_ms: int
    confidence: float | None
    language: str


class SpeechEvent(TypedDict):
    type: Literal["speech.started", "speech.stopped"]
    speaker: SpeakerInfo
    item_id: str
    audio_ms: int


class PresenceChanged(TypedDict):
    """Who came or went, told to the room at most about once a second per server process."""

    type: Literal["presence.changed"]
    #: open connections to the room now, on every server process
    connections: int
    #: the people whose connections changed, each with their count now (0: gone)
    changed: list[ParticipantInfo]
    #: how many more people changed than ``changed`` lists
    more: int


class ParticipantsPage(TypedDict):
    """The answer to participants.list: one page of the meeting's members."""

    type: Literal["participants.page"]
    participants: list[ParticipantInfo]
    #: what to send as ``after`` for the next page; None after the last
    next: int | None


class MeetingEnded(TypedDict):
    type: Literal["meeting.ended"]
    ended_at: str
    #: the host who ended it; None when it ended by itself, nobody having been in it for long
    by: SpeakerInfo | None


class MeetingReopened(TypedDict):
    type: Literal["meeting.reopened"]
    by: SpeakerInfo


class BookmarkInfo(TypedDict):
    id: int
    #: who marked it, as they were named then (id 0: the account is gone)
    author: SpeakerInfo
    #: on the meeting's clock, like a caption's start_ms
    at_ms: int
    note: str
    created_at: str


class BookmarkAdded(TypedDict):
    type: Literal["bookmark.added"]
    bookmark: BookmarkInfo


class SessionReady(TypedDict):
    type: Literal["session.ready"]
    meeting: MeetingInfo
    participant: ParticipantInfo
    engine: str
    sample_rate: int
    #: members of the meeting in all (their list comes in pages: participants.list)
    members: int
    #: open connections to the room, on every server process
    connections: int
    #: the hosts and speakers, a page at most, each with their connections to the room
    speakers: list[ParticipantInfo]
    history: list[CaptionFinal]
    #: the meeting's bookmarks, oldest moment first
    bookmarks: list[BookmarkInfo]


class Bare(TypedDict):
    """An event with nothing but its type: ``pong``, ``session.stopped``."""

    type: Literal["pong", "session.stopped"]


class CaptionTranslated(TypedDict):
    """A final in the language a listener chose: only connections that chose it get it."""

    type: Literal["caption.translated"]
    item_id: str
    segment_id: int
    language: str
    text: str


class TranslationChosen(TypedDict):
    """The answer to translation.choose: the connection's language now (None: off)."""

    type: Literal["translation.chosen"]
    language: str | None


class ErrorEvent(TypedDict):
    type: Literal["error"]
    code: str
    message: str


def speaker_info(user: User) -> SpeakerInfo:
    return {"id": user.pk, "name": user.name}


def participant_info(user: User, role: str, connections: int | None = None) -> ParticipantInfo:
    info: ParticipantInfo = {"id": user.pk, "name": user.name, "role": role}
    if connections is not None:
        info["connections"] = connections
    return info


def caption_partial(user: User, item_id: str, text: str) -> CaptionPartial:
    return {
        "type": "caption.partial",
        "speaker": speaker_info(user),
        "item_id": item_id,
        "text": text,
    }


def caption_final(segment: Segment) -> CaptionFinal:
    """A stored segment as clients see it (its speaker as it was stored, renamed or not)."""
    return {
        "type": "caption.final",
        "speaker": {"id": segment.speaker_id or 0, "name": segment.speaker_name},
        "item_id": segment.item_id,
        "segment_id": segment.pk,
        "text": segment.text,
        "start_ms": segment.start_ms,
        "end_ms": segment.end_ms,
        "confidence": segment.confidence,
        "language": segment.language,
    }


def bookmark_info(bookmark: Bookmark) -> BookmarkInfo:
    return {
        "id": bookmark.pk,
        "author": {"id": bookmark.author_id or 0, "name": bookmark.author_name},
        "at_ms": bookmark.at_ms,
        "note": bookmark.note,
        "created_at": bookmark.created_at.isoformat(),
    }


def bookmark_added(bookmark: Bookmark) -> BookmarkAdded:
    return {"type": "bookmark.added", "bookmark": bookmark_info(bookmark)}


def speech_event(
    kind: Literal["speech.started", "speech.stopped"], user: User, item_id: str, audio_ms: int
) -> SpeechEvent:
    return {"type": kind, "speaker": speaker_info(user), "item_id": item_id, "audio_ms": audio_ms}


def presence_changed(
    connections: int, changed: list[ParticipantInfo], more: int
) -> PresenceChanged:
    return {
        "type": "presence.changed",
        "connections": connections,
        "changed": changed,
        "more": more,
    }


def participants_page(participants: list[ParticipantInfo], after: int | None) -> ParticipantsPage:
    return {"type": "participants.page", "participants": participants, "next": after}


def meeting_ended(meeting: Meeting, by: User | None) -> MeetingEnded:
    assert meeting.ended_at is not None
    return {
        "type": "meeting.ended",
        "ended_at": meeting.ended_at.isoformat(),
        "by": speaker_info(by) if by is not None else None,
    }


def meeting_reopened(by: User) -> MeetingReopened:
    return {"type": "meeting.reopened", "by": speaker_info(by)}


def session_ready(
    meeting: Meeting,
    participant: ParticipantInfo,
    *,
    engine: str,
    sample_rate: int,
    members: int,
    connections: int,
    speakers: list[ParticipantInfo],
    history: list[Segment],
    bookmarks: list[Bookmark],
) -> SessionReady:
    """The first event of a connection: who and where it is, how many are here and who speaks,
    what was just said. Its size does not grow with the room's: the members come in pages."""
    return {
        "type": "session.ready",
        "meeting": {
            "slug": meeting.slug,
            "title": meeting.title,
            "language": meeting.language,
            "ended_at": meeting.ended_at.isoformat() if meeting.ended_at else None,
        },
        "participant": participant,
        "engine": engine,
        "sample_rate": sample_rate,
        "members": members,
        "connections": connections,
        "speakers": speakers,
        "history": [caption_final(segment) for segment in history],
        "bookmarks": [bookmark_info(bookmark) for bookmark in bookmarks],
    }


def pong() -> Bare:
    return {"type": "pong"}


def session_stopped() -> Bare:
    return {"type": "session.stopped"}


def caption_translated(segment: Segment, language: str, text: str) -> CaptionTranslated:
    return {
        "type": "caption.translated",
        "item_id": segment.item_id,
        "segment_id": segment.pk,
        "language": language,
        "text": text,
    }


def translation_chosen(language: str | None) -> TranslationChosen:
    return {"type": "translation.chosen", "language": language}


def error_event(code: str, message: str) -> ErrorEvent:
    return {"type": "error", "code": code, "message": message}


# --- Channel-layer names -------------------------------------------------------------------


def room_group(meeting_id: int) -> str:
    return f"meeting.{meeting_id}"


def user_group(user_id: int) -> str:
    """Every open connection of one user, on every server process."""
    return f"user.{user_id}"


def translation_group(meeting_id: int, language: str) -> str:
    """The room's connections that chose to read its captions in ``language``."""
    return f"meeting.{meeting_id}.translation.{language}"


#: channel-layer message to a user's group: their rights changed, check them again
ACCESS_CHANGED = "user.access_changed"


def handler_name(event_type: str) -> str:
    """Channel-layer message type for an event: caption.final → room.caption_final."""
    return "room." + event_type.replace(".", "_")
