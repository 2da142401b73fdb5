"""OpenAI's transcription protocols, shared by the OpenAI engines and the speech server.

The official SDK's typed models (``openai.types.realtime``, ``openai.types.audio``) are the
source of truth: event names are read from them, and every event the speech server sends is
built through its SDK model, so a field the SDK does not know fails here rather than at a
client. What the SDK does not carry lives here: the GA ``session.update`` a client sends for a
transcription session, OpenAI's error shape and ids, the utterance bookkeeping (:class:`Item`),
logprob and usage helpers, language names, and the ``verbose_json`` transcript body.

No Django, no server or client code: both sides import this module.
"""

from __future__ import annotations

import math
import secrets
import string
import typing
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from openai import BaseModel
from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeErrorEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
    SessionUpdateEventParam,
)

from ..base import SessionConfig, Transcript, TranscriptSegment

#: the only PCM rate the Realtime API accepts
SAMPLE_RATE = 24000
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000  # PCM16
#: the one value of a session's ``include``: logprobs on deltas and completed transcripts
LOGPROBS = "item.input_audio_transcription.logprobs"
DEFAULT_MODEL = "gpt-4o-transcribe"
#: models that transcribe while the speaker talks; OpenAI refuses turn detection with them
STREAMING_MODELS = frozenset({"gpt-realtime-whisper", "gpt-live-transcribe"})
#: models billed by the second rather than by the token
DURATION_USAGE_MODELS = frozenset({"whisper-1", "gpt-live-transcribe"})
AUDIO_TOKENS_PER_SECOND = 10
#: a commit needs this much audio appended since the previous one
MIN_COMMIT_MS = 100
MAX_APPEND_BYTES = 15 * 1024 * 1024


def event_type(model: type[BaseModel]) -> str:
    """The ``type`` an SDK event model declares (the one value of its ``Literal``)."""
    return typing.get_args(model.model_fields["type"].annotation)[0]


# Event names, read from the SDK's models.
SESSION_UPDATE = event_type(SessionUpdateEvent)
APPEND = event_type(InputAudioBufferAppendEvent)
COMMIT = event_type(InputAudioBufferCommitEvent)
CLEAR = event_type(InputAudioBufferClearEvent)
SESSION_CREATED = event_type(SessionCreatedEvent)
SESSION_UPDATED = event_type(SessionUpdatedEvent)
SPEECH_STARTED = event_type(InputAudioBufferSpeechStartedEvent)
SPEECH_STOPPED = event_type(InputAudioBufferSpeechStoppedEvent)
COMMITTED = event_type(InputAudioBufferCommittedEvent)
CLEARED = event_type(InputAudioBufferClearedEvent)
ITEM_ADDED = event_type(ConversationItemAdded)
ITEM_DONE = event_type(ConversationItemDone)
DELTA = event_type(ConversationItemInputAudioTranscriptionDeltaEvent)
COMPLETED = event_type(ConversationItemInputAudioTranscriptionCompletedEvent)
FAILED = event_type(ConversationItemInputAudioTranscriptionFailedEvent)
ERROR = event_type(RealtimeErrorEvent)

#: every client event type OpenAI accepts, in the order its ``invalid_value`` message lists them
#: (``session.close`` and ``session.input_audio_buffer.append`` belong to its translation API)
CLIENT_EVENTS = (
    SESSION_UPDATE,
    "session.close",
    APPEND,
    "session.input_audio_buffer.append",
    COMMIT,
    CLEAR,
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
)

ALPHANUMERIC = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id in OpenAI's form: ``event_``, ``item_`` or ``sess_`` and 22 letters or digits."""
    return prefix + "_" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(22))


def server_event(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A server event, checked against the SDK's model of it, as the JSON object to send."""
    event = model(type=event_type(model), event_id=new_id("event"), **fields)
    return event.to_dict(mode="json")


class ProtocolError(Exception):
    """A client mistake, reported as OpenAI reports it: ``{type, code, message, param}``."""

    def __init__(
        self,
        code: str | None,
        message: str,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.kind = kind

    def event(self, client_event_id: str | None = None) -> dict[str, Any]:
        """The ``error`` event; ``client_event_id`` names the client event that failed."""
        error = {
            "type": self.kind,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }
        return server_event(RealtimeErrorEvent, error=error)

    def body(self) -> dict[str, Any]:
        """The JSON body of an HTTP error."""
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def describe_error(event: Any) -> tuple[str, str]:
    """(code, message) of an ``error`` or ``…failed`` event, whatever optional fields it lacks."""
    error = getattr(event, "error", None)
    if isinstance(error, dict):
        code, message = error.get("code") or error.get("type"), error.get("message")
    elif error is None or isinstance(error, str):
        code, message = None, error
    else:
        code = getattr(error, "code", None) or getattr(error, "type", None)
        message = getattr(error, "message", None)
    return str(code or "error"), str(message or "unknown error")


@dataclass
class Item:
    """One utterance: a conversation item of input audio, in ms on a session's audio clock.

    ``committed`` once the input buffer holding it was committed; ``done`` once its
    transcript was given (a second one would be a duplicate final).
    """

    id: str
    start_ms: int
    end_ms: int | None = None
    committed: bool = False
    done: bool = False


def session_update(
    config: SessionConfig, model: str, delay: str | None = None
) -> SessionUpdateEventParam:
    """The GA ``session.update`` a client sends to configure a transcription session.

    A streaming model gets ``turn_detection: null`` (OpenAI refuses its VAD with them: the
    client commits), ``delay`` and no ``prompt`` (refused by ``gpt-realtime-whisper``).
    """
    streaming = model in STREAMING_MODELS
    transcription: dict[str, Any] = {"model": model}
    if config.language:
        transcription["language"] = config.language
    if config.prompt and not streaming:
        transcription["prompt"] = config.prompt
    if streaming and delay:
        transcription["delay"] = delay
    noise = {"type": config.noise_reduction} if config.noise_reduction else None
    detection = None
    if not streaming:
        detection = {
            "type": "server_vad",
            "threshold": config.vad_threshold,
            "prefix_padding_ms": config.prefix_padding_ms,
            "silence_duration_ms": config.silence_ms,
        }
    return typing.cast(
        SessionUpdateEventParam,
        {
            "type": SESSION_UPDATE,
            "session": {
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                        "noise_reduction": noise,
                        "transcription": transcription,
                        "turn_detection": detection,
                    }
                },
                "include": [LOGPROBS],
            },
        },
    )


# --- logprobs and usage ----------------------------------------------------------------


def token_logprob(token: str, logprob: float) -> dict[str, Any]:
    """One entry of a ``logprobs`` list (``LogProbProperties``)."""
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def logprob_values(logprobs: Any) -> list[float]:
    """The numbers of a ``logprobs`` list, as the SDK parsed it or as plain JSON."""
    if not isinstance(logprobs, list):
        return []
    values = []
    for entry in logprobs:
        value = entry.get("logprob") if isinstance(entry, dict) else getattr(entry, "logprob", None)
        if isinstance(value, int | float):
            values.append(float(value))
    return values


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def supports_logprobs(model: str) -> bool:
    """Whether OpenAI gives token logprobs for ``model`` (``include[]=logprobs``)."""
    return model.startswith(("gpt-4o-transcribe", "gpt-4o-mini-transcribe")) and (
        "diarize" not in model
    )


def usage(model: str, seconds: float, output_tokens: int) -> dict[str, Any]:
    """A transcript's ``usage``: seconds for whisper-1 and the live model, tokens otherwise."""
    if model in DURATION_USAGE_MODELS:
        return {"type": "duration", "seconds": math.ceil(max(seconds, 0))}
    audio_tokens = math.ceil(max(seconds, 0) * AUDIO_TOKENS_PER_SECOND)
    return {
        "type": "tokens",
        "total_tokens": audio_tokens + output_tokens,
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": output_tokens,
    }


# --- batch transcripts -----------------------------------------------------------------

#: the language names verbose_json reports, by ISO-639-1 code
LANGUAGE_NAMES = {
    "ar": "arabic",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "hi": "hindi",
    "it": "italian",
    "ja": "japanese",
    "ko": "korean",
    "nl": "dutch",
    "pl": "polish",
    "pt": "portuguese",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
    "uk": "ukrainian",
    "zh": "chinese",
}
LANGUAGE_CODES = {name: code for code, name in LANGUAGE_NAMES.items()}


def verbose_json(
    transcript: Transcript,
    duration: float,
    *,
    usage: dict[str, Any] | None = None,
    words: bool = False,
) -> dict[str, Any]:
    """A transcript as OpenAI's ``verbose_json`` (``TranscriptionVerbose``).

    Each segment also carries the project's ``confidence`` and its ``words`` with their
    probabilities; clients of OpenAI's API ignore fields they do not know. ``words`` adds
    the top-level word timestamps that ``timestamp_granularities[]=word`` asks for.
    """
    language = transcript.language or "en"
    segments = [s for s in transcript.segments if s.text.strip()]
    result: dict[str, Any] = {
        "task": "transcribe",
        "language": LANGUAGE_NAMES.get(language, language),
        "duration": round(duration, 2),
        "text": transcript.text,
        "segments": [_verbose_segment(i, s) for i, s in enumerate(segments)],
    }
    if words:
        result["words"] = [
            {"word": w, "start": start / 1000, "end": end / 1000}
            for s in segments
            for w, start, end, _p in s.words
        ]
    if usage is not None:
        result["usage"] = usage
    return result


def _verbose_segment(number: int, segment: TranscriptSegment) -> dict[str, Any]:
    text = segment.text.strip()
    return {
        "id": number,
        "seek": 0,
        "start": segment.start_ms / 1000,
        "end": segment.end_ms / 1000,
        "text": text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": _compression_ratio(text),
        "no_speech_prob": 0.0,
        "confidence": segment.confidence,
        "words": [
            {"word": w, "start": start / 1000, "end": end / 1000, "probability": p}
            for w, start, end, p in segment.words
        ],
    }


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return round(len(data) / max(1, len(zlib.compress(data))), 3)


def segment_words(segments: Iterable[TranscriptSegment]) -> list[tuple[str, float]]:
    """(word, probability) of every word, the segment's own probability where words are unknown."""
    found = [(w, p) for s in segments for w, _start, _end, p in s.words]
    if found:
        return found
    return [(w, math.exp(s.avg_logprob or 0.0)) for s in segments for w in s.text.split()]
