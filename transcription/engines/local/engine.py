"""The local engines: faster-whisper with the bundled Whisper tiny.en, no key and no network.

Live: :class:`~.stream.LocalSession` (speech detection, partials, finals), its decodes
scheduled by the :class:`~.models.DecodeSlots` the engine is given. Batch:
faster-whisper's own long-form transcription of the audio high-passed, with every voice brought
to one level first, and Whisper's second opinion on the loud stretches its speech detector
dropped (:mod:`.gate`). The models and the cores they share: :mod:`.models`.
"""

from __future__ import annotations

import asyncio

import numpy as np

from ..base import (
    BatchEngine,
    EngineSession,
    Languages,
    RealtimeEngine,
    SessionConfig,
    Transcript,
    TranscriptSegment,
)
from ..levels import even_levels, speech_stretches
from .decode import SAMPLE_RATE
from .gate import confident, high_passed, loud_frames
from .models import (
    DecodeSlots,
    LocalConfig,
    executor,
    model_languages,
    realtime_model,
    whisper_model,
)
from .stream import FRAME, LocalSession
from .turns import smart_turn

__all__ = ["LocalBatchEngine", "LocalConfig", "LocalRealtimeEngine"]

#: Silero's threshold for the batch path's levelling (faster-whisper's own VAD default)
BATCH_SPEECH_THRESHOLD = 0.5
#: a dropped stretch must be loud this many frames (32 ms) to get a second opinion, and loud
#: frames this close together make one stretch
LOUD_STRETCH_FRAMES = 3
LOUD_JOIN_FRAMES = 10
#: decoded with this much of the audio either side (a word's soft start and end)
LOUD_PAD_S = 0.2


class LocalRealtimeEngine(RealtimeEngine):
    name = "local"
    input_sample_rate = SAMPLE_RATE

    def __init__(self, config: LocalConfig, slots: DecodeSlots) -> None:
        """``slots``: the process's decode scheduler, shared by every session of the engine
        (and of any other engine on the same model: one per process)."""
        self.config = config
        self.slots = slots

    async def open(self, config: SessionConfig) -> EngineSession:
        loop = asyncio.get_running_loop()
        # load once, off the loop
        await loop.run_in_executor(executor(), realtime_model, self.config)
        if self.config.turns.enabled:
            await loop.run_in_executor(executor(), smart_turn, self.config.turns.path())
        return LocalSession(config, self.config, self.slots)

    def languages(self) -> Languages:
        return model_languages(self.config)


class LocalBatchEngine(BatchEngine):
    name = "local"

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        duration = max(audio.size / SAMPLE_RATE, 1e-6)
        # Whisper hears what the detector hears: measured, the high-pass helped both
        filtered = high_passed(audio)
        heard = leveled(filtered)
        segments, info = whisper_model(self.config).transcribe(
            heard,
            language=language,
            initial_prompt=prompt or None,
            word_timestamps=True,
            vad_filter=True,
        )
        result = []
        for s in segments:
            result.append(_segment(s, 0.0))
            if progress:
                progress(min(99.0, 100.0 * s.end / duration))
        for start, end in dropped_loud_stretches(heard, filtered):
            result += self._second_opinion(heard[start:end], start / SAMPLE_RATE, language)
        if progress:
            progress(100.0)
        return Transcript(sorted(result, key=lambda s: s.start_ms), info.language)

    def _second_opinion(self, samples, offset_s: float, language: str) -> list:
        """What Whisper is sure was said in a stretch its speech detector dropped."""
        segments, _ = whisper_model(self.config).transcribe(
            samples,
            language=language,
            word_timestamps=True,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        return [
            _segment(s, offset_s)
            for s in segments
            if confident(s.text.strip(), s.no_speech_prob, s.avg_logprob)
        ]


def _segment(s, offset_s: float) -> TranscriptSegment:
    """A faster-whisper segment, ``offset_s`` into the recording, as the interface's."""

    def ms(seconds: float) -> int:
        return int((seconds + offset_s) * 1000)

    words = [(w.word.strip(), ms(w.start), ms(w.end), w.probability) for w in s.words or []]
    return TranscriptSegment(ms(s.start), ms(s.end), s.text.strip(), s.avg_logprob, words)


def dropped_loud_stretches(heard: np.ndarray, filtered: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) samples that faster-whisper's VAD filter drops (it runs the same detector
    with the same defaults on the same audio) though they stand well above the noise floor."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    loud = loud_frames(filtered, FRAME)
    for chunk in get_speech_timestamps(heard, VadOptions()):
        loud[chunk["start"] // FRAME : -(-chunk["end"] // FRAME)] = False
    pad = int(LOUD_PAD_S * SAMPLE_RATE)
    return [
        (max(0, start * FRAME - pad), min(heard.size, end * FRAME + pad))
        for start, end in speech_stretches(loud, LOUD_JOIN_FRAMES)
        if end - start >= LOUD_STRETCH_FRAMES
    ]


def leveled(audio: np.ndarray) -> np.ndarray:
    """The recording with every stretch of speech at one level (a far voice as a near one)."""
    from faster_whisper.vad import get_vad_model

    whole_frames = audio[: audio.size // FRAME * FRAME]
    if whole_frames.size == 0:
        return audio
    # Silero over the whole file in one call, as faster-whisper's own VAD filter runs it
    probabilities = np.asarray(get_vad_model()(whole_frames, FRAME)).reshape(-1)
    return even_levels(audio, probabilities, BATCH_SPEECH_THRESHOLD)
