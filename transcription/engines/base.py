"""The small interface every speech engine implements.

Two kinds of engine live behind it:

* a *realtime* engine opens one :class:`EngineSession` per speaker. Audio goes in
  as it arrives (16-bit little-endian mono PCM at the engine's
  ``input_sample_rate``); events come out of :meth:`EngineSession.events` as the
  plain dataclasses below, the same for every engine.
* a *batch* engine turns a whole recording into a :class:`Transcript`.

Consumers and jobs only ever talk to these classes; which engine runs is a
setting (see :mod:`transcription.engines`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SessionConfig:
    """How one realtime session should listen.

    ``language`` is an ISO-639-1 code, or ``None`` to let the engine detect it.
    ``prompt`` carries the meeting's glossary (names, jargon) to bias decoding.
    """

    model: str = ""
    language: str | None = "en"
    prompt: str = ""
    vad_threshold: float = 0.5
    silence_ms: int = 500
    prefix_padding_ms: int = 300
    noise_reduction: str | None = None


#: ``delay`` of OpenAI's streaming transcription models: how long they wait for more audio
#: before giving words, from soonest to most accurate
OPENAI_DELAYS = ("minimal", "low", "medium", "high", "xhigh")


@dataclass(frozen=True)
class OpenAIConfig:
    """Where the OpenAI engines connect, with which key and models.

    ``base_url`` serves ``/audio/transcriptions``; ``realtime_endpoint`` the Realtime API's
    WebSocket. Both may point at any compatible server (the project's own speech server).
    ``realtime_delay`` is the ``delay`` of the streaming models (``gpt-realtime-whisper``).
    """

    api_key: str = ""
    base_url: str = "https://api.openai.com/v1"
    realtime_endpoint: str = "wss://api.openai.com/v1/realtime"
    realtime_model: str = "gpt-4o-transcribe"
    batch_model: str = "gpt-4o-transcribe"
    realtime_delay: str = "medium"


@dataclass(frozen=True)
class SpeechStarted:
    item_id: str
    audio_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    item_id: str
    audio_ms: int


@dataclass(frozen=True)
class Partial:
    """The whole utterance so far (not a delta); only ever grows for one item."""

    item_id: str
    text: str


@dataclass(frozen=True)
class Final:
    """The end of one utterance.

    ``start_ms``/``end_ms`` are on the session's audio clock: milliseconds of
    audio appended since the session opened.
    """

    item_id: str
    text: str
    start_ms: int
    end_ms: int
    avg_logprob: float | None = None
    language: str | None = None

    @property
    def confidence(self) -> float | None:
        return confidence_from_logprob(self.avg_logprob)


@dataclass(frozen=True)
class EngineError:
    """Something went wrong upstream. ``fatal`` means the session is over."""

    code: str
    message: str
    fatal: bool = False


Event = SpeechStarted | SpeechStopped | Partial | Final | EngineError


class EventQueue:
    """A session's events on their way out, bounded by back-pressure rather than by refusal.

    ``put_nowait`` never waits and never fails, so the end of a stream (``None``) always gets
    in, even from code that cannot wait. A producer that keeps producing (the loop that reads
    audio or the upstream socket) awaits :meth:`room` between steps: it is held while
    ``limit`` events wait unread, so a consumer that stops reading slows the engine down (and,
    through it, the audio it accepts) instead of letting events pile up without end.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._has_room = asyncio.Event()
        self._has_room.set()

    def put_nowait(self, event: Event | None) -> None:
        self._queue.put_nowait(event)
        if self._queue.qsize() >= self.limit:
            self._has_room.clear()

    async def get(self) -> Event | None:
        event = await self._queue.get()
        if self._queue.qsize() < self.limit:
            self._has_room.set()
        return event

    async def room(self) -> None:
        await self._has_room.wait()

    def qsize(self) -> int:
        return self._queue.qsize()


class EngineUnavailable(Exception):
    """The engine cannot run here (missing package, model, key or server)."""


class EngineSession:
    """One speaker's upstream session.

    Contract:

    * ``append`` never blocks the event loop for long: heavy work (model
      inference, network I/O) happens elsewhere. It may wait briefly to apply
      back-pressure when the engine is overloaded.
    * every utterance that produces text ends in exactly one :class:`Final`;
      partials of an item only move forward and come before its final.
    * ``commit`` ends the current utterance now; ``clear`` drops audio that was
      not transcribed yet.
    * ``close`` flushes: pending speech is finalised, its events are delivered,
      and then :meth:`events` ends. After ``close`` nothing else may be called.
    """

    async def append(self, pcm16: bytes) -> None:
        raise NotImplementedError

    async def commit(self) -> None:
        raise NotImplementedError

    async def clear(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def events(self) -> AsyncIterator[Event]:
        raise NotImplementedError


@dataclass(frozen=True)
class Languages:
    """What a realtime engine can transcribe: ISO 639-1 codes (Whisper's), and whether it can
    detect the language itself (``SessionConfig.language`` None, a meeting's ``auto``)."""

    codes: frozenset[str]
    detects: bool


def whisper_languages(multilingual: bool) -> Languages:
    """The languages of a Whisper model: every one it was trained on, or English alone.

    The list is faster-whisper's (the tokenizer's language tokens), not one of our own: a
    private tuple, as only a loaded model answers publicly (pinned, and checked by
    tests/test_faster_whisper_reaches.py).
    """
    if not multilingual:
        return Languages(frozenset({"en"}), detects=False)
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return Languages(frozenset(_LANGUAGE_CODES), detects=True)


class RealtimeEngine:
    """Opens realtime sessions. One instance per process is enough."""

    name: str = ""
    input_sample_rate: int = 16000

    async def open(self, config: SessionConfig) -> EngineSession:
        raise NotImplementedError

    def languages(self) -> Languages:
        """The languages its sessions can transcribe.

        Cheap after the first call in a process (pages ask on every view); the first may load
        the engine's model. A session opened with another language still runs, as well as the
        engine can (an English-only model hears English).
        """
        raise NotImplementedError


@dataclass(frozen=True)
class TranscriptSegment:
    start_ms: int
    end_ms: int
    text: str
    avg_logprob: float | None = None
    #: (word, start_ms, end_ms, probability) where the engine knows them
    words: list[tuple[str, int, int, float]] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        return confidence_from_logprob(self.avg_logprob)


@dataclass(frozen=True)
class Transcript:
    segments: list[TranscriptSegment]
    language: str | None = None

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


ProgressCallback = Callable[[float], None]


class BatchEngine:
    """Transcribes a whole recording: float32 mono samples at 16 kHz."""

    name: str = ""

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = "en",
        prompt: str = "",
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        raise NotImplementedError


def confidence_from_logprob(avg_logprob: float | None) -> float | None:
    """Average token log-probability → a confidence in (0, 1]."""
    if avg_logprob is None or math.isnan(avg_logprob):
        return None
    return min(1.0, max(1e-6, math.exp(avg_logprob)))
