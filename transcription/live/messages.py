"""What clients may send on the caption endpoints (docs/PROTOCOL.md), validated in one place.

Every text frame goes through :func:`parse_message`: a frame of any shape becomes either one of
the message classes below or a :class:`InvalidMessage` that says, briefly, what was wrong. The
consumer never sees a malformed value, so no input can crash it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from meetings.models import Bookmark
from meetings.text import validate_one_line, validate_text

from ..audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

DEFAULT_SAMPLE_RATE = 24000
#: the most audio a reconnecting page sends at once (room.js: 25 s, within the burst allowance,
#: CAPTIONS_AUDIO_BURST_SECONDS, which bounds what it may send at once anyway)
MAX_BACKLOG_MS = 30_000
#: ISO 639-1 (two lowercase letters), or "auto" to let the engine detect the language
LANGUAGE_PATTERN = r"^(auto|[a-z]{2})$"
Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN)]
#: what a listener may have the captions translated into (TRANSLATION_LANGUAGES says which)
TRANSLATION_PATTERN = r"^[a-z]{2,3}$"


class InvalidMessage(ValueError):
    """A frame that is not a valid message; ``code`` is the protocol's error code."""

    def __init__(self, message: str, code: str = "invalid_message") -> None:
        super().__init__(message)
        self.code = code


class ClientMessage(BaseModel):
    # Unknown fields are ignored, so clients of a later protocol version still work.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ping(ClientMessage):
    type: Literal["ping"]


class SessionStart(ClientMessage):
    type: Literal["session.start"]
    sample_rate: int = Field(DEFAULT_SAMPLE_RATE, ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)
    language: Language | None = None
    #: the first ``backlog_ms`` of audio after this were captured that long ago: sent before on
    #: a connection that dropped, or held while disconnected. Captions of it are dated back,
    #: and one already stored (by the lost connection's process) is not stored again.
    backlog_ms: int = Field(0, ge=0, le=MAX_BACKLOG_MS, strict=True)

    @field_validator("sample_rate", mode="before")
    @classmethod
    def whole_number(cls, value: Any) -> Any:
        # JSON has one number type: 16000.0 is 16000, but "16000" or true is not a rate.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number of samples per second")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ValueError("must be a whole number of samples per second")
        return int(value)


class AppendAudio(ClientMessage):
    """``input_audio_buffer.append`` carries ``audio``; the seed's ``audio_chunk`` ``data``."""

    type: Literal["input_audio_buffer.append", "audio_chunk"]
    audio: str = ""
    data: str = ""

    def pcm16(self) -> bytes:
        encoded = self.audio if self.type == "input_audio_buffer.append" else self.data
        try:
            pcm = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidMessage("Audio must be base64 PCM16.", "invalid_audio_format") from None
        if not pcm:
            raise InvalidMessage("The message holds no audio.", "invalid_audio_format")
        return pcm


class Commit(ClientMessage):
    type: Literal["input_audio_buffer.commit"]


class Clear(ClientMessage):
    type: Literal["input_audio_buffer.clear"]


class Stop(ClientMessage):
    type: Literal["session.stop"]


class EndMeeting(ClientMessage):
    """A host ends the meeting for everyone in it."""

    type: Literal["meeting.end"]


class ReopenMeeting(ClientMessage):
    """A host lets an ended meeting go on."""

    type: Literal["meeting.reopen"]


class AddBookmark(ClientMessage):
    """Anyone in the room marks the current moment, with an optional one-line note."""

    type: Literal["bookmark.add"]
    note: str = Field("", max_length=Bookmark.NOTE_MAX_LENGTH, strict=True)

    @field_validator("note")
    @classmethod
    def one_line(cls, value: str) -> str:
        try:
            validate_one_line(value) if value.strip() else validate_text(value)
        except DjangoValidationError:
            # the project's text rules (meetings.text): what every page and export can show
            raise ValueError("must be one line without control characters") from None
        return value.strip()


class ChooseTranslation(ClientMessage):
    """A listener reads the room's finals in ``language`` too (None: translation off)."""

    type: Literal["translation.choose"]
    language: Annotated[str, Field(pattern=TRANSLATION_PATTERN)] | None = None


class ListParticipants(ClientMessage):
    """One page of the meeting's members, after the one whose page said ``next``."""

    type: Literal["participants.list"]
    after: int = Field(0, ge=0, le=2**63 - 1, strict=True)


MESSAGES: dict[str, type[ClientMessage]] = {
    "ping": Ping,
    "session.start": SessionStart,
    "input_audio_buffer.append": AppendAudio,
    "audio_chunk": AppendAudio,
    "input_audio_buffer.commit": Commit,
    "input_audio_buffer.clear": Clear,
    "session.stop": Stop,
    "meeting.end": EndMeeting,
    "meeting.reopen": ReopenMeeting,
    "bookmark.add": AddBookmark,
    "translation.choose": ChooseTranslation,
    "participants.list": ListParticipants,
}


def parse_message(text: str) -> ClientMessage:
    """One text frame → a message, or InvalidMessage saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidMessage("Send JSON objects with a 'type'.") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        raise InvalidMessage("Send JSON objects with a 'type'.")
    model = MESSAGES.get(kind)
    if model is None:
        known = ", ".join(MESSAGES)
        raise InvalidMessage(f"Unknown message type {kind[:40]!r}; known types: {known}.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, reason = describe(exc)
        # a rate we cannot take is an audio format problem, as in the first protocol version
        code = "invalid_audio_format" if field == "sample_rate" else "invalid_message"
        raise InvalidMessage(f"{kind}: {field} {reason}.", code) from None


def describe(error: ValidationError) -> tuple[str, str]:
    """The first problem: its field, and what is wrong, without echoing the value sent."""
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "message"
    reason = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch" and field == "language":
        reason = "must be a two-letter ISO 639-1 code such as 'en', or 'auto'"
        if first.get("ctx", {}).get("pattern") == TRANSLATION_PATTERN:
            reason = "must be a two-letter ISO 639-1 code such as 'fr', or null for none"
    return field, reason[:120]
