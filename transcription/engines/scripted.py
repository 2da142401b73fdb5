"""An engine that says what it was scripted to say, for rooms where the words do not matter.

It hears speech by its level alone and gives each utterance the next line of its script. It
keeps the same contract as the real engines (tests/test_engine_contract.py runs it with them),
loads no model and needs no network, so the tests of rooms, rights, security and exports, where
what is said is beside the point, run in moments; the tests about speech keep the real engines.
An operator can also use it to try a room on a machine without a model.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from .base import (
    EngineError,
    EngineSession,
    EventQueue,
    Final,
    Languages,
    Partial,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)

FRAME_MS = 20
#: a frame louder than this is speech: low enough that the breaths inside a sentence of
#: shared/audio stay in it (at -45 dBFS two of its clips fall in two), so a room's noise above it
#: keeps an utterance open until real silence
SPEECH_DBFS = -55.0
#: a partial shows one more word of the line for each stretch of speech this long
WORD_MS = 300
#: confidence exp(-0.1), about 0.9: the script is sure of itself
AVG_LOGPROB = -0.1


@dataclass(frozen=True)
class ScriptedConfig:
    """The lines its utterances say, in turn (from the first again when they run out)."""

    lines: tuple[str, ...] = ("This caption was scripted.",)
    languages: frozenset[str] = frozenset({"en"})


class ScriptedRealtimeEngine(RealtimeEngine):
    name = "scripted"
    input_sample_rate = 16000

    def __init__(self, config: ScriptedConfig) -> None:
        self.config = config
        self._languages = Languages(config.languages, detects=False)

    async def open(self, config: SessionConfig) -> ScriptedSession:
        return ScriptedSession(self.config, config)

    def languages(self) -> Languages:
        return self._languages


class ScriptedSession(EngineSession):
    """One speaker: utterances found by level, ended by ``silence_ms`` of quiet or a commit."""

    def __init__(self, script: ScriptedConfig, config: SessionConfig) -> None:
        self._lines = itertools.cycle(script.lines)
        self._language = config.language or "en"
        self._silence_frames = max(1, config.silence_ms // FRAME_MS)
        self._queue = EventQueue()
        self._pending = b""  # less than a frame, waiting for the rest
        self._frames = 0  # frames heard since the session opened: the audio clock
        self._utterances = 0
        self._utterance: _Utterance | None = None
        self._closed = False

    async def append(self, pcm16: bytes) -> None:
        if self._closed:
            self._queue.put_nowait(EngineError("closed", "the session is closed"))
            return
        await self._queue.room()
        audio = self._pending + pcm16
        frame_bytes = self.input_frame_bytes
        whole = len(audio) - len(audio) % frame_bytes
        self._pending = audio[whole:]
        for start in range(0, whole, frame_bytes):
            self._hear(audio[start : start + frame_bytes])

    @property
    def input_frame_bytes(self) -> int:
        return ScriptedRealtimeEngine.input_sample_rate * FRAME_MS // 1000 * 2

    async def commit(self) -> None:
        self._end_utterance()

    async def clear(self) -> None:
        # as the local engine does: the utterance under way is dropped, with no final
        self._pending = b""
        self._utterance = None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._end_utterance()
        self._queue.put_nowait(None)
        await asyncio.sleep(0)

    async def events(self) -> AsyncIterator:
        while (event := await self._queue.get()) is not None:
            yield event

    def _hear(self, frame: bytes) -> None:
        self._frames += 1
        loud = _dbfs(frame) > SPEECH_DBFS
        utterance = self._utterance
        if utterance is None:
            if loud:
                self._start_utterance()
            return
        if loud:
            utterance.last_loud = self._frames
            utterance.loud_frames += 1
            self._show_partial(utterance)
        elif self._frames - utterance.last_loud >= self._silence_frames:
            self._end_utterance()

    def _start_utterance(self) -> None:
        self._utterances += 1
        item_id = f"item_{self._utterances}"
        start_ms = (self._frames - 1) * FRAME_MS
        self._utterance = _Utterance(item_id, next(self._lines), start_ms, self._frames)
        self._queue.put_nowait(SpeechStarted(item_id, start_ms))

    def _show_partial(self, utterance: _Utterance) -> None:
        words = utterance.line.split()
        shown = min(len(words) - 1, utterance.loud_frames * FRAME_MS // WORD_MS)
        if shown > utterance.words_shown:
            utterance.words_shown = shown
            self._queue.put_nowait(Partial(utterance.item_id, " ".join(words[:shown])))

    def _end_utterance(self) -> None:
        utterance, self._utterance = self._utterance, None
        if utterance is None:
            return
        end_ms = utterance.last_loud * FRAME_MS
        self._queue.put_nowait(SpeechStopped(utterance.item_id, end_ms))
        final = Final(
            utterance.item_id,
            utterance.line,
            utterance.start_ms,
            max(end_ms, utterance.start_ms + FRAME_MS),
            avg_logprob=AVG_LOGPROB,
            language=self._language,
        )
        self._queue.put_nowait(final)


@dataclass
class _Utterance:
    item_id: str
    line: str
    start_ms: int
    last_loud: int  # the audio clock's frame count at its last loud frame
    loud_frames: int = 1
    words_shown: int = 0


def _dbfs(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
    power = float(np.mean(samples * samples)) if samples.size else 0.0
    return 10 * np.log10(max(power, 1e-12))
