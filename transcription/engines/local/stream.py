"""The local engine's streaming session: one speaker's audio in, their captions out.

It works on the audio clock, not the wall clock. Silero VAD (faster-whisper's copy) scores each 32
ms frame, and it is not the only gate (:mod:`.gate`, on the audio high-passed): a frame well
above the room's noise floor is no pause either, and loud frames the detector does not take for
speech open an utterance of their own, whose final is kept only if
Whisper is sure it heard speech (no partials are shown for it before). While someone speaks, the
utterance so far is decoded for partials. An utterance ends after ``silence_ms`` of silence, after
a shorter pause once it is long (a speaker who never pauses still gets finals), or, with no pause
at all, at its quietest moment near ``MAX_UTTERANCE_S``: the rest of the audio starts the next
utterance, so no word is lost or doubled at a cut. While a long utterance goes on, its head is
settled (decoded, and kept up to a pause between words well before the audio's end), so that its
partials, and its final when others crowd it, decode only the rest. Finals are decoded as Whisper
decodes long audio (:mod:`.whisper_decode`), with every voice brought to one level first
(:mod:`.levels`) and, if the config asks, the speaker's recent finals as the prompt. Decoding runs
in the process's thread pool, so the event loop never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import NamedTuple

import numpy as np

from ...audio import pcm16_to_float
from ..base import (
    EngineSession,
    EventQueue,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from .decode import (
    FINAL_BEAM_SIZE,
    NO_HEAD,
    SAMPLE_RATE,
    Decoded,
    Head,
    decode_final,
    decode_head,
    decode_partial,
)
from .gate import HighPass, NoiseFloor, confident
from .models import DecodeSlots, LocalConfig, realtime_model, tokenizer
from .turns import TurnDetector
from .utterance import FRAME, StreamingVad, Utterance

logger = logging.getLogger(__name__)

FIRST_PARTIAL_S = 0.3  # after speech starts (the pre-roll is already in the utterance)
PARTIAL_EVERY_S = 0.4
SPECULATE_AFTER_MS = 150  # of silence: start decoding the final while the pause lasts
#: ... this early when the end of turn is judged (turns.py) and a core is free: a final judged
#: complete goes out after ``TurnConfig.early_ms`` of silence, so it must be decoded by then
TURN_SPECULATE_AFTER_MS = 64
#: a partial whose turn comes, or whose audio is encoded, this far into a pause is dropped:
#: the final is due, and under load the partial's core was what the final waited for
STALE_PARTIAL_PAUSE_MS = 96
# ... when the pause that ends the utterance is longer than this: a speculative decode is
# thrown away whenever speech resumes, yet holds its core until it is done
SPECULATE_AHEAD_OF_MS = 300
#: past this length a shorter pause ends an utterance: fluent speech still gets its finals
LONG_UTTERANCE_S = 8.0
LONG_UTTERANCE_PAUSE_MS = 192
#: an utterance with no such pause is cut at its quietest moment in its last CUT_SEARCH_S
MAX_UTTERANCE_S = 15.0
CUT_SEARCH_S = 4.0
#: once an utterance runs this far past its settled head, the head is taken further while the
#: speaker goes on, so that its partials and its final decode only the rest (a shorter window)
SETTLE_AFTER_S = 6.0
#: ... and if nothing settled, the next try waits for this much more audio
SETTLE_RETRY_S = 2.0
#: how much of the speaker's recent finals is kept for the prompt, when the config asks for it
CONTEXT_CHARS = 600
#: loud frames in a row (well over the noise floor) that open an utterance the detector did not
#: hear: Whisper's second opinion decides whether it held speech
LOUD_OPENS_AFTER = 3


class Turn(NamedTuple):
    """A final as decoded, and whether its speaker's turn was judged complete with it."""

    decoded: Decoded
    complete: bool = False


class LocalSession(EngineSession):
    def __init__(self, config: SessionConfig, local: LocalConfig, slots: DecodeSlots) -> None:
        self.config = config
        self.local = local
        self.slots = slots  # the process's decode scheduler
        self.threshold = config.vad_threshold
        self.vad = StreamingVad()
        self.high_pass = HighPass()  # what the detector hears (gate.py)
        self.floor = NoiseFloor()
        self.loud_run = 0  # loud frames in a row the detector did not take for speech
        self.audio: asyncio.Queue[np.ndarray | str | None] = asyncio.Queue(maxsize=200)
        self.out = EventQueue()
        self.pending = np.zeros(0, dtype=np.float32)
        self.clock = 0  # samples seen
        self.preroll = Utterance()
        self.utterance: Utterance | None = None
        self.speech_start = 0
        self.silent_samples = 0
        self.next_partial_at = 0
        self.partial_text = ""
        self.partial_task: asyncio.Task | None = None
        self.speculation: asyncio.Task | None = None
        self.head = NO_HEAD  # of the utterance: settled while it goes on
        self.head_task: asyncio.Task | None = None
        self.settle_at = 0  # samples into the utterance
        self.ids = itertools.count(1)
        self.item_id = ""
        self.recent = ""  # the speaker's latest finals: the decoder's context
        self.turns = TurnDetector(local.turns)
        # a final sent early (its turn judged complete) that speech may go on from: its text
        # and the sample where it ended; the next utterance, if it starts within silence_ms,
        # continues it (a false cut) and is decoded with that text as its prompt
        self.early_text, self.early_end = "", 0
        self.continues = ""
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
                if not isinstance(item, str):
                    await self._feed(item)
                elif item == "commit" and self.utterance is not None:
                    await self._finish()
                elif item == "clear":
                    self._reset()
                elif item == "turn" and self.utterance is not None and self._turn_over():
                    await self._finish()
            if self.utterance is not None:
                await self._finish()
        except Exception:
            # The events end here; the consumer sees them end early and starts a new session.
            logger.exception("local streaming session failed")
        finally:
            self._cancel_decodes()
            self.out.put_nowait(None)

    async def _feed(self, samples: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, samples])
        while self.pending.size >= FRAME:
            frame, self.pending = self.pending[:FRAME], self.pending[FRAME:]
            await self._frame(frame)

    async def _frame(self, frame: np.ndarray) -> None:
        # The floor hears the audio high-passed; the detector and Whisper hear it as it came.
        # Measured: the filter made Whisper loop on a short utterance under a hum and cost
        # words under a fan, and before the detector it split JFK's "ask not" off on its own, to
        # be garbled (tests/live/test_backpressure.py on machine B); the loud frames above the
        # floor are what bring back speech the detector rejects (docs/BENCHMARKS.md).
        filtered = self.high_pass(frame)
        probability = self.vad.probability(frame)
        heard = probability >= self.threshold
        loud = self.floor.loud(filtered)
        self.loud_run = self.loud_run + 1 if loud and not heard else 0
        self.clock += FRAME
        if self.utterance is None:
            self.preroll.add(frame, probability, loud)
            keep = self.config.prefix_padding_ms * SAMPLE_RATE // 1000 // FRAME + 1
            self.preroll = self.preroll.split(max(0, len(self.preroll.frames) - keep))
            if heard or self.loud_run >= LOUD_OPENS_AFTER:
                self.preroll.heard = heard
                self._start(self.preroll)
            return
        self.utterance.add(frame, probability, loud)
        self.utterance.heard |= heard
        # A loud frame is no pause, whatever the detector says: it rejects speech it finds
        # unusual (a telephone line, a rumble under it), and a pause would end the utterance.
        speech = heard or loud
        if speech:
            self.silent_samples = 0
            if self.speculation is not None:  # the pause was not the end after all
                self.speculation.cancel()
                self.speculation = None
        else:
            self.silent_samples += FRAME
        await self._decide()

    async def _decide(self) -> None:
        """End the utterance, cut it, start its final early, or decode a partial."""
        seconds = self.utterance.samples / SAMPLE_RATE
        pause_ms = self.config.silence_ms
        if seconds >= LONG_UTTERANCE_S:
            pause_ms = min(pause_ms, LONG_UTTERANCE_PAUSE_MS)
        silent_ms = self.silent_samples * 1000 // SAMPLE_RATE
        if silent_ms >= pause_ms or self._turn_over():
            await self._finish()
        elif seconds >= MAX_UTTERANCE_S:
            await self._cut()
        elif silent_ms >= self._speculate_after_ms() and pause_ms > SPECULATE_AHEAD_OF_MS:
            if self.speculation is None:
                self.speculation = self._final_task(judge=self.turns.enabled)
                self.speculation.add_done_callback(self._speculated)
        elif self.clock >= self.next_partial_at and self.silent_samples == 0:
            self._request_partial()
        speaking = self.utterance is not None and self.silent_samples == 0
        speaking = speaking and self.utterance.heard
        if speaking and self.utterance.samples >= self.settle_at:
            self._request_head()

    def _speculate_after_ms(self) -> int:
        """Into a pause, when the final starts decoding: early for the end of turn, unless
        that takes a core others wait for (a room's finals due together)."""
        if self.turns.enabled and self.slots.free > 0 and not self.slots.waiting:
            return TURN_SPECULATE_AFTER_MS
        return SPECULATE_AFTER_MS

    def _speculated(self, task: asyncio.Task) -> None:
        """A speculative final judged complete: the worker looks at the pause again at once,
        not at the next audio frame (clients send 100 ms at a time)."""
        if not task.cancelled() and task.exception() is None and task.result().complete:
            with contextlib.suppress(asyncio.QueueFull):  # the next frame looks anyway
                self.audio.put_nowait("turn")

    def _turn_over(self) -> bool:
        """The pause is long enough for a turn judged complete, and its final is decoded."""
        task = self.speculation
        if task is None or not task.done() or task.cancelled() or task.exception():
            return False
        early = self.silent_samples >= self._samples(self.local.turns.early_ms)
        return early and task.result().complete

    def _start(self, frames: Utterance) -> None:
        self.utterance, self.preroll = frames, Utterance()
        self.speech_start = self.clock - frames.samples
        # speech again within the pause that would have ended it: a false cut, continued
        gap = self.speech_start - self.early_end
        resumed = gap < self._samples(self.config.silence_ms)
        self.continues = self.early_text if resumed else ""
        self.early_text = ""
        speech = frames.scores(self.threshold) >= self.threshold
        trailing = int(np.argmax(speech[::-1])) if speech.any() else len(speech)
        self.silent_samples = trailing * FRAME
        self.next_partial_at = self.clock + int(FIRST_PARTIAL_S * SAMPLE_RATE)
        self.settle_at = int(SETTLE_AFTER_S * SAMPLE_RATE)
        self.item_id = f"item_{next(self.ids)}"
        self.out.put_nowait(SpeechStarted(self.item_id, self._ms(self.speech_start)))

    def _request_partial(self) -> None:
        if not self.utterance.heard:
            return  # no guess is shown before Whisper's second opinion on it
        # One partial in flight per speaker: when decoding lags, partials are skipped.
        if self.partial_task is not None and not self.partial_task.done():
            self.slots.partials_skipped += 1
            return
        audio = self.utterance.audio(self.threshold)
        self.partial_task = asyncio.create_task(self._partial(self.item_id, audio, self.head))

    async def _partial(self, item_id: str, samples: np.ndarray, head: Head) -> None:
        decoded = await self.slots.run(DecodeSlots.PARTIAL, self._decode_partial, samples, head)
        if decoded is None:
            self.slots.partials_dropped += 1
            return  # the next partial is asked for as soon as speech resumes
        if item_id != self.item_id:
            return  # that utterance is over
        # The next one waits a full interval after this one is done, so a loaded server
        # sends partials less often and keeps its cores for the finals.
        self.next_partial_at = self.clock + int(PARTIAL_EVERY_S * SAMPLE_RATE)
        # partials only move forward: a shorter guess would make the line jump back
        if len(decoded.text) > len(self.partial_text):
            self.partial_text = decoded.text
            self.out.put_nowait(Partial(item_id, decoded.text))

    def _request_head(self) -> None:
        """Settle more of a long utterance while it is said: one such decode at a time."""
        if self.head_task is not None and not self.head_task.done():
            return
        audio = self.utterance.audio(self.threshold)
        dips = self.utterance.dips()
        self.settle_at = self.utterance.samples + int(SETTLE_RETRY_S * SAMPLE_RATE)
        self.head_task = asyncio.create_task(self._settle(self.item_id, self.head, audio, dips))

    async def _settle(self, item_id: str, head: Head, samples: np.ndarray, dips) -> None:
        settled = await self.slots.run(DecodeSlots.HEAD, self._decode_head, samples, head, dips)
        if item_id == self.item_id and self.head is head and settled is not head:
            self.head = settled
            further = settled.samples + int(SETTLE_AFTER_S * SAMPLE_RATE)
            self.settle_at = max(self.settle_at, further)

    def _final_task(self, judge: bool = False) -> asyncio.Task:
        """The final of the utterance as it is now, decoding in the background (a :class:`Turn`;
        ``judge``: with its turn judged, if the detector heard speech in it)."""
        audio = self.utterance.audio(self.threshold)
        speech_after = self.utterance.speech_after(self.threshold)
        # Never on a long utterance: there a prompt made Whisper stop after the first of two
        # voices and drop the second.
        short = audio.size <= self.local.context_up_to_s * SAMPLE_RATE
        context = self.recent if short else ""
        if self.continues and audio.size <= LONG_UTTERANCE_S * SAMPLE_RATE:
            context = self.continues  # the words before a false cut: Whisper reads on from them
        judge = judge and self.utterance.heard
        args = (audio, speech_after, context, self.head)
        if judge and self.slots.free >= 2 and not self.slots.waiting:
            return asyncio.create_task(self._decode_and_hear(*args))
        return asyncio.create_task(
            self.slots.run(DecodeSlots.FINAL, self._decode_final, *args, judge)
        )

    async def _decode_and_hear(self, audio: np.ndarray, *args) -> Turn:
        """The final, and Smart Turn on the other core at the same time: with a core free, the
        early final need not wait for one after the other. Smart Turn goes at the heads'
        priority, so the final beside it still counts as alone (and keeps beam 5)."""
        hearing = asyncio.create_task(
            self.slots.run(DecodeSlots.HEAD, self.turns.probability, audio)
        )
        try:
            decoded = (
                await self.slots.run(DecodeSlots.FINAL, self._decode_final, audio, *args)
            ).decoded
            return Turn(decoded, self.turns.judge(decoded.text, await hearing))
        finally:
            hearing.cancel()

    async def _finish(self) -> None:
        """The speaker paused: the utterance is over, its final goes out."""
        end = self.clock - self.silent_samples
        # ended by its turn, before the pause that would have ended it: speech may go on
        early = self._turn_over() and self.silent_samples < self._samples(self.config.silence_ms)
        for task in (self.partial_task, self.head_task):
            if task is not None:
                task.cancel()
        self.out.put_nowait(SpeechStopped(self.item_id, self._ms(self.clock)))
        # The decode started during the pause already holds all of the speech.
        final = self.speculation or self._final_task()
        self.speculation = None
        decoded = self._judged((await final).decoded)
        self._emit(decoded, end)
        if early and decoded.text:
            self.early_text, self.early_end = decoded.text, end
        self._reset()

    async def _cut(self) -> None:
        """No pause came: end the utterance at its quietest moment; the rest goes on."""
        at = self.utterance.quietest_frame(int(CUT_SEARCH_S * SAMPLE_RATE) // FRAME)
        rest = self.utterance.split(at)
        end = self.clock - rest.samples
        self._cancel_decodes()
        self.out.put_nowait(SpeechStopped(self.item_id, self._ms(end)))
        self._emit(self._judged((await self._final_task()).decoded), end)
        self._reset()
        self._start(rest)

    def _judged(self, decoded: Decoded) -> Decoded:
        """The final, or nothing when the detector never heard the utterance and Whisper is not
        sure it held speech (a fan's gust, a hum, a cough)."""
        if self.utterance.heard:
            return decoded
        if confident(decoded.text, decoded.no_speech_prob, decoded.avg_logprob):
            return decoded
        return Decoded("", None, decoded.language)

    def _emit(self, decoded: Decoded, end: int) -> None:
        if not decoded.text:
            return
        start_ms, end_ms = self._ms(self.speech_start), self._ms(end)
        self.out.put_nowait(
            Final(
                self.item_id, decoded.text, start_ms, end_ms, decoded.avg_logprob, decoded.language
            )
        )
        self.recent = f"{self.recent} {decoded.text}"[-CONTEXT_CHARS:]

    def _decode_partial(self, samples: np.ndarray, head: Head = NO_HEAD) -> Decoded | None:
        """In a decode thread. None when a final needs the core more: by the partial's turn,
        or once its audio is encoded, the speaker has paused or another final waits."""
        if not self._no_final_due():
            return None
        model, tok = realtime_model(self.local), tokenizer(self.local)
        wanted = self._no_final_due
        return decode_partial(model, tok, samples, self.config, still_wanted=wanted, head=head)

    def _no_final_due(self) -> bool:
        """Whether a decode made while the speaker goes on (a partial, a head) may go on: the
        speaker has not paused, and no final waits for a core."""
        paused = self.silent_samples * 1000 >= STALE_PARTIAL_PAUSE_MS * SAMPLE_RATE
        return not paused and self.slots.no_final_waiting()

    def _decode_final(
        self, samples: np.ndarray, speech_after, context: str, head: Head, judge: bool = False
    ) -> Turn:
        model, tok = realtime_model(self.local), tokenizer(self.local)
        beam = self.slots.final_beam()
        # A final decoded alone hears all of its utterance; one crowded by others decodes only
        # what follows the settled head: a shorter window, for a few tenths of a point of WER.
        if beam == FINAL_BEAM_SIZE:
            head = NO_HEAD
        elif head.text:
            with self.slots.lock:
                self.slots.finals_after_head += 1
        decoded = decode_final(model, tok, samples, self.config, context, speech_after, beam, head)
        return Turn(decoded, judge and self.turns.complete(samples, decoded.text))

    def _decode_head(self, samples: np.ndarray, head: Head, dips) -> Head:
        """In a decode thread. The same head when a final needs the core more, as for a
        partial: a head whose speaker has paused is thrown away with the utterance anyway."""
        if not self._no_final_due():
            return head
        model, tok = realtime_model(self.local), tokenizer(self.local)
        beam = self.slots.final_beam(DecodeSlots.HEAD)
        wanted = self._no_final_due
        return decode_head(model, tok, samples, self.config, head, dips, beam, wanted)

    def _cancel_decodes(self) -> None:
        for task in (self.partial_task, self.speculation, self.head_task):
            if task is not None:
                task.cancel()
        self.partial_task = self.speculation = self.head_task = None

    def _reset(self) -> None:
        self._cancel_decodes()
        self.utterance = None
        self.preroll = Utterance()
        self.partial_text = ""
        self.head = NO_HEAD
        self.silent_samples = 0
        self.item_id = ""

    @staticmethod
    def _ms(samples: int) -> int:
        return samples * 1000 // SAMPLE_RATE

    @staticmethod
    def _samples(ms: int) -> int:
        return ms * SAMPLE_RATE // 1000
