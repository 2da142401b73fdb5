"""The local engines: faster-whisper with the bundled Whisper tiny.en, no key and no network.

Live: :class:`~.local_stream.LocalSession` (speech detection, partials, finals). Batch:
faster-whisper's own long-form transcription, with every voice brought to one level first.
The models and the cores they share: :mod:`.local_models`.
"""

from __future__ import annotations

import asyncio

import numpy as np

from .base import (
    BatchEngine,
    EngineSession,
    Languages,
    RealtimeEngine,
    SessionConfig,
    Transcript,
    TranscriptSegment,
)
from .levels import even_levels
from .local_models import LocalConfig, executor, model_languages, realtime_model, whisper_model
from .local_stream import FRAME, LocalSession
from .whisper_decode import SAMPLE_RATE

__all__ = ["LocalBatchEngine", "LocalConfig", "LocalRealtimeEngine"]

#: Silero's threshold for the batch path's levelling (faster-whisper's own VAD default)
BATCH_SPEECH_THRESHOLD = 0.5


class LocalRealtimeEngine(RealtimeEngine):
    name = "local"
    input_sample_rate = SAMPLE_RATE

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    async def open(self, config: SessionConfig) -> EngineSession:
        loop = asyncio.get_running_loop()
        # load once, off the loop
        await loop.run_in_executor(executor(), realtime_model, self.config)
        return LocalSession(config, self.config)

    def languages(self) -> Languages:
        return model_languages(self.config)


class LocalBatchEngine(BatchEngine):
    name = "local"

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        duration = max(audio.size / SAMPLE_RATE, 1e-6)
        segments, info = whisper_model(self.config).transcribe(
            leveled(audio),
            language=language,
            initial_prompt=prompt or None,
            word_timestamps=True,
            vad_filter=True,
        )
        result = []
        for s in segments:
            words = [
                (w.word.strip(), int(w.start * 1000), int(w.end * 1000), w.probability)
                for w in s.words or []
            ]
            result.append(
                TranscriptSegment(
                    int(s.start * 1000), int(s.end * 1000), s.text.strip(), s.avg_logprob, words
                )
            )
            if progress:
                progress(min(100.0, 100.0 * s.end / duration))
        if progress:
            progress(100.0)
        return Transcript(result, info.language)


def leveled(audio: np.ndarray) -> np.ndarray:
    """The recording with every stretch of speech at one level (a far voice as a near one)."""
    from faster_whisper.vad import get_vad_model

    whole_frames = audio[: audio.size // FRAME * FRAME]
    if whole_frames.size == 0:
        return audio
    # Silero over the whole file in one call, as faster-whisper's own VAD filter runs it
    probabilities = np.asarray(get_vad_model()(whole_frames, FRAME)).reshape(-1)
    return even_levels(audio, probabilities, BATCH_SPEECH_THRESHOLD)
