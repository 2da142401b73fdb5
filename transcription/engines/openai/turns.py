"""Turn detection on our side, for OpenAI's streaming models, which refuse the server's.

``gpt-realtime-whisper`` and ``gpt-live-transcribe`` transcribe while speech goes on, but only
with ``turn_detection: null``: the client says where an utterance ends by committing the input
buffer. :class:`TurnDetector` decides that on the audio the engine sends, with the same Silero
VAD the local engine uses (:class:`~..local.stream.StreamingVad`, 32 ms frames at 16 kHz), and the
same rules for ending an utterance:

* after ``silence_ms`` of silence (the setting server VAD uses), or a shorter pause once the
  utterance is long, so that fluent speech still gets its finals;
* with no such pause, at the first quiet frame (a gap between words) past
  :data:`QUIET_CUT_AFTER_S`, and at :data:`MAX_UTTERANCE_S` at the latest. The local engine cuts
  at the quietest frame of the last seconds, because it holds the audio; here that audio has
  already gone to OpenAI, and a commit can only end the buffer where it is now.

:class:`StreamingTurns` turns the detector's decisions into the session's utterances: it starts
them, and ends each with a commit mark that the session sends after the audio it ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from ...audio import pcm16_to_float
from ..base import EventQueue, SessionConfig, SpeechStarted, SpeechStopped
from ..local.stream import (
    FRAME,
    LONG_UTTERANCE_PAUSE_MS,
    LONG_UTTERANCE_S,
    MAX_UTTERANCE_S,
    StreamingVad,
)
from .protocol import BYTES_PER_MS, SAMPLE_RATE, new_id
from .replay import ReplayBuffer, Utterance
from .state import Utterances

VAD_RATE = 16000  # Silero's
FRAME_MS = FRAME * 1000 // VAD_RATE
#: past this length, any frame that is not speech ends the utterance
QUIET_CUT_AFTER_S = MAX_UTTERANCE_S - 3.0
#: an utterance only the model heard (deltas, no speech for our VAD) ends when none came for
#: this long, or for the session's ``silence_ms`` if that is longer
DELTA_QUIET_MS = 1000


@dataclass(frozen=True)
class TurnEvent:
    """``start``: speech began at ``ms``; ``end``: commit now, the speaker paused; ``cut``:
    commit now, the speaker did not pause, and the speech after ``ms`` is the next utterance.
    ``ms`` is on the detector's clock: milliseconds of audio given to :meth:`feed`.
    """

    kind: str
    ms: int


class TurnDetector:
    """Where utterances start and end, from 24 kHz PCM16 as the engine sends it."""

    def __init__(self, threshold: float, silence_ms: int) -> None:
        self.threshold = threshold
        self.silence_ms = silence_ms
        self.vad = StreamingVad()
        self.resampler = soxr.ResampleStream(SAMPLE_RATE, VAD_RATE, 1, dtype="float32")
        self.pending = np.zeros(0, dtype=np.float32)
        self.clock_ms = 0  # audio scored so far
        self.speaking = False
        self.turn_start_ms = 0
        self.silent_ms = 0

    def feed(self, pcm16: bytes) -> list[TurnEvent]:
        """Score the new audio; what happened in it, in order."""
        samples = self.resampler.resample_chunk(pcm16_to_float(pcm16))
        self.pending = np.concatenate([self.pending, samples])
        events: list[TurnEvent] = []
        while self.pending.size >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            event = self._frame(self.vad.probability(frame))
            if event is not None:
                events.append(event)
        return events

    def reset(self) -> None:
        """The utterance was ended from outside (a commit or clear): listen for the next one."""
        self.speaking = False
        self.silent_ms = 0

    def _frame(self, probability: float) -> TurnEvent | None:
        start = self.clock_ms
        self.clock_ms += FRAME_MS
        speech = probability >= self.threshold
        if not self.speaking:
            if not speech:
                return None
            self.speaking, self.turn_start_ms, self.silent_ms = True, start, 0
            return TurnEvent("start", start)
        self.silent_ms = 0 if speech else self.silent_ms + FRAME_MS
        length_ms = self.clock_ms - self.turn_start_ms
        pause_ms = self.silence_ms
        if length_ms >= LONG_UTTERANCE_S * 1000:
            pause_ms = min(pause_ms, LONG_UTTERANCE_PAUSE_MS)
        if self.silent_ms >= pause_ms:
            self.speaking = False
            return TurnEvent("end", self.clock_ms)
        quiet_enough = not speech and length_ms >= QUIET_CUT_AFTER_S * 1000
        if quiet_enough or length_ms >= MAX_UTTERANCE_S * 1000:
            # the speech goes on: the next utterance starts right here
            self.turn_start_ms = self.clock_ms
            return TurnEvent("cut", self.clock_ms)
        return None


class StreamingTurns:
    """A streaming model's utterances, begun and ended on our side.

    The session hands it the utterances in flight, its replay buffer (whose ``end`` is where a
    commit made now would end) and its event queue. An utterance begins when the detector hears
    speech, or when a delta comes first (:meth:`start`); it ends with a commit mark in
    ``utterances.marks`` and :class:`SpeechStopped`.
    """

    def __init__(
        self,
        config: SessionConfig,
        utterances: Utterances,
        buffer: ReplayBuffer,
        out: EventQueue,
    ) -> None:
        self.config = config
        self.detector = TurnDetector(config.vad_threshold, config.silence_ms)
        self.utterances = utterances
        self.buffer = buffer
        self.out = out

    def follow(self, pcm16: bytes) -> None:
        """Run our VAD over new audio: start utterances, and end them with a commit mark."""
        utterances = self.utterances
        for turn in self.detector.feed(pcm16):
            if turn.kind == "start":
                if utterances.current is None:  # else a delta started it already
                    padding = self.config.prefix_padding_ms
                    self.start(max(utterances.last_commit // BYTES_PER_MS, turn.ms - padding))
                continue
            if utterances.current is not None:
                self.end()
            if turn.kind == "cut":  # no pause: the speech after the commit goes on
                self.start(utterances.last_commit // BYTES_PER_MS)
        current = utterances.current
        if current is not None and not self.detector.speaking:
            # only the model heard this one: it ends when its deltas stop coming
            quiet = self.buffer.end - max(current.heard_at, current.start_ms * BYTES_PER_MS)
            if quiet >= max(self.config.silence_ms, DELTA_QUIET_MS) * BYTES_PER_MS:
                self.end()

    def start(self, start_ms: int) -> Utterance:
        """An utterance begins (our VAD heard it, or a delta came first): it is ``current``."""
        item = self.utterances.current = Utterance(new_id("item"), start_ms)
        self.out.put_nowait(SpeechStarted(item.id, start_ms))
        return item

    def end(self) -> None:
        """End the utterance being spoken: a commit after the audio appended so far."""
        utterances = self.utterances
        item, utterances.current = utterances.current, None
        assert item is not None
        item.commit_at = utterances.last_commit = self.buffer.end
        item.end_ms = item.commit_at // BYTES_PER_MS
        utterances.marks.append(item)
        self.out.put_nowait(SpeechStopped(item.id, item.end_ms))

    def reset(self) -> None:
        """The utterance was ended from outside (a commit or clear): listen for the next one."""
        self.detector.reset()
