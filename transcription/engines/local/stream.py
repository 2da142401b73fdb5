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
decodes long audio (:mod:`.decode`), with every voice brought to one level first
(:mod:`..levels`) and, if the config asks, the speaker's recent finals as the prompt; a short
final is decoded after the utterance before it (:mod:`.left_context`). Decoding runs
in the process's thread pool, so the event loop never waits. What a session holds, and the
phases it goes through, are written down in :mod:`.state`.
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
from .gate import confident
from .left_context import LEFT_AUDIO_S, Said, decode_after
from .models import DecodeSlots, LocalConfig, realtime_model, tokenizer
from .state import EarlyFinal, Listening, Phase, Speech
from .turns import TurnDetector
from .utterance import FRAME, StreamingVad, Utterance  # noqa: F401 (openai/turns.py's detector)

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
    """One speaker's session: its hearing (:class:`~.state.Listening`), the utterance being
    heard (:class:`~.state.Speech`, with its decodes in flight), an early final that speech may
    go on from, the speaker's recent finals, and the utterance before (a short final's left
    context); :attr:`phase` says what it is doing."""

    def __init__(self, config: SessionConfig, local: LocalConfig, slots: DecodeSlots) -> None:
        self.config = config
        self.local = local
        self.slots = slots  # the process's decode scheduler
        self.threshold = config.vad_threshold
        self.turns = TurnDetector(local.turns)
        self.audio: asyncio.Queue[np.ndarray | str | None] = asyncio.Queue(maxsize=200)
        self.out = EventQueue()
        self.listening = Listening()
        self.speech: Speech | None = None
        self.early: EarlyFinal | None = None
        self.ids = itertools.count(1)
        self.recent = ""  # the speaker's latest finals: the decoder's context
        self.said: Said | None = None  # the latest final's utterance: a short one's left
        self.worker = asyncio.create_task(self._run())

    @property
    def phase(self) -> Phase:
        if self.speech is None:
            return Phase.QUIET
        return Phase.SPEAKING if self.listening.silent_samples == 0 else Phase.PAUSING

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
                elif item == "commit" and self.phase is not Phase.QUIET:
                    await self._finish()
                elif item == "clear":
                    self._reset()
                elif item == "turn" and self.phase is not Phase.QUIET and self._turn_over():
                    await self._finish()
            if self.phase is not Phase.QUIET:
                await self._finish()
        except Exception:
            # The events end here; the consumer sees them end early and starts a new session.
            logger.exception("local streaming session failed")
        finally:
            self._cancel_decodes()
            self.out.put_nowait(None)

    async def _feed(self, samples: np.ndarray) -> None:
        ear = self.listening
        ear.pending = np.concatenate([ear.pending, samples])
        while ear.pending.size >= FRAME:
            frame, ear.pending = ear.pending[:FRAME], ear.pending[FRAME:]
            await self._frame(frame)

    async def _frame(self, frame: np.ndarray) -> None:
        # The floor hears the audio high-passed; the detector and Whisper hear it as it came.
        # Measured: the filter made Whisper loop on a short utterance under a hum and cost
        # words under a fan, and before the detector it split JFK's "ask not" off on its own, to
        # be garbled (tests/live/test_backpressure.py on machine B); the loud frames above the
        # floor are what bring back speech the detector rejects (docs/BENCHMARKS.md).
        ear = self.listening
        filtered = ear.high_pass(frame)
        probability = ear.vad.probability(frame)
        heard = probability >= self.threshold
        loud = ear.floor.loud(filtered)
        ear.loud_run = ear.loud_run + 1 if loud and not heard else 0
        ear.clock += FRAME
        speech = self.speech
        if speech is None:
            ear.preroll.add(frame, probability, loud)
            keep = self.config.prefix_padding_ms * SAMPLE_RATE // 1000 // FRAME + 1
            ear.preroll = ear.preroll.split(max(0, len(ear.preroll.frames) - keep))
            if heard or ear.loud_run >= LOUD_OPENS_AFTER:
                ear.preroll.heard = heard
                self._start(ear.preroll)
            return
        speech.frames.add(frame, probability, loud)
        speech.frames.heard |= heard
        # A loud frame is no pause, whatever the detector says: it rejects speech it finds
        # unusual (a telephone line, a rumble under it), and a pause would end the utterance.
        if heard or loud:
            ear.silent_samples = 0
            if speech.decodes.final is not None:  # the pause was not the end after all
                speech.decodes.final.cancel()
                speech.decodes.final = None
        else:
            ear.silent_samples += FRAME
        await self._decide(speech)

    async def _decide(self, speech: Speech) -> None:
        """End the utterance, cut it, start its final early, or decode a partial."""
        ear = self.listening
        seconds = speech.frames.samples / SAMPLE_RATE
        pause_ms = self.config.silence_ms
        if seconds >= LONG_UTTERANCE_S:
            pause_ms = min(pause_ms, LONG_UTTERANCE_PAUSE_MS)
        silent_ms = ear.silent_samples * 1000 // SAMPLE_RATE
        if silent_ms >= pause_ms or self._turn_over():
            await self._finish()
        elif seconds >= MAX_UTTERANCE_S:
            await self._cut()
        elif silent_ms >= self._speculate_after_ms() and pause_ms > SPECULATE_AHEAD_OF_MS:
            if speech.decodes.final is None:
                speech.decodes.final = self._final_task(judge=self.turns.enabled)
                speech.decodes.final.add_done_callback(self._speculated)
        elif ear.clock >= speech.next_partial_at and self.phase is Phase.SPEAKING:
            self._request_partial()
        # the utterance may have ended by now, or been cut and another begun
        speaking = self.phase is Phase.SPEAKING and self.speech.frames.heard
        if speaking and self.speech.frames.samples >= self.speech.settle_at:
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
        task = self.speech.decodes.final
        if task is None or not task.done() or task.cancelled() or task.exception():
            return False
        early = self.listening.silent_samples >= self._samples(self.local.turns.early_ms)
        return early and task.result().complete

    def _start(self, frames: Utterance) -> None:
        ear = self.listening
        ear.preroll = Utterance()
        start = ear.clock - frames.samples
        # speech again within the pause that would have ended it: a false cut, continued
        early, self.early = self.early, None
        resumed = early is not None and start - early.end < self._samples(self.config.silence_ms)
        is_speech = frames.scores(self.threshold) >= self.threshold
        trailing = int(np.argmax(is_speech[::-1])) if is_speech.any() else len(is_speech)
        ear.silent_samples = trailing * FRAME
        self.speech = Speech(
            item_id=f"item_{next(self.ids)}",
            frames=frames,
            start=start,
            next_partial_at=ear.clock + int(FIRST_PARTIAL_S * SAMPLE_RATE),
            settle_at=int(SETTLE_AFTER_S * SAMPLE_RATE),
            continues=early.text if resumed else "",
        )
        self.out.put_nowait(SpeechStarted(self.speech.item_id, self._ms(start)))

    def _request_partial(self) -> None:
        speech = self.speech
        if not speech.frames.heard:
            return  # no guess is shown before Whisper's second opinion on it
        # One partial in flight per speaker: when decoding lags, partials are skipped.
        if speech.decodes.partial is not None and not speech.decodes.partial.done():
            self.slots.partials_skipped += 1
            return
        audio = speech.frames.audio(self.threshold)
        speech.decodes.partial = asyncio.create_task(self._partial(speech, audio, speech.head))

    async def _partial(self, speech: Speech, samples: np.ndarray, head: Head) -> None:
        decoded = await self.slots.run(DecodeSlots.PARTIAL, self._decode_partial, samples, head)
        if decoded is None:
            self.slots.partials_dropped += 1
            return  # the next partial is asked for as soon as speech resumes
        if speech is not self.speech:
            return  # that utterance is over
        # The next one waits a full interval after this one is done, so a loaded server
        # sends partials less often and keeps its cores for the finals.
        speech.next_partial_at = self.listening.clock + int(PARTIAL_EVERY_S * SAMPLE_RATE)
        # partials only move forward: a shorter guess would make the line jump back
        if len(decoded.text) > len(speech.partial_text):
            speech.partial_text = decoded.text
            self.out.put_nowait(Partial(speech.item_id, decoded.text))

    def _request_head(self) -> None:
        """Settle more of a long utterance while it is said: one such decode at a time."""
        speech = self.speech
        if speech.decodes.head is not None and not speech.decodes.head.done():
            return
        audio = speech.frames.audio(self.threshold)
        dips = speech.frames.dips()
        speech.settle_at = speech.frames.samples + int(SETTLE_RETRY_S * SAMPLE_RATE)
        speech.decodes.head = asyncio.create_task(self._settle(speech, speech.head, audio, dips))

    async def _settle(self, speech: Speech, head: Head, samples: np.ndarray, dips) -> None:
        settled = await self.slots.run(DecodeSlots.HEAD, self._decode_head, samples, head, dips)
        if speech is self.speech and speech.head is head and settled is not head:
            speech.head = settled
            further = settled.samples + int(SETTLE_AFTER_S * SAMPLE_RATE)
            speech.settle_at = max(speech.settle_at, further)

    def _final_task(self, judge: bool = False) -> asyncio.Task:
        """The final of the utterance as it is now, decoding in the background (a :class:`Turn`;
        ``judge``: with its turn judged, if the detector heard speech in it)."""
        speech = self.speech
        audio = speech.frames.audio(self.threshold)
        speech_after = speech.frames.speech_after(self.threshold)
        # Never on a long utterance: there a prompt made Whisper stop after the first of two
        # voices and drop the second.
        short = audio.size <= self.local.context_up_to_s * SAMPLE_RATE
        context = self.recent if short else ""
        if speech.continues and audio.size <= LONG_UTTERANCE_S * SAMPLE_RATE:
            context = speech.continues  # the words before a false cut: Whisper reads on from them
        judge = judge and speech.frames.heard
        # a short utterance the detector heard is decoded after the one before it (Whisper's
        # second opinion on one it did not hear must judge that audio alone)
        said = self.said
        wanted = self.local.left_context and speech.frames.heard
        if not (wanted and said is not None and said.before(speech.start, audio)):
            said = None
        args = (audio, speech_after, context, speech.head, said)
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
        speech, ear = self.speech, self.listening
        end = ear.clock - ear.silent_samples
        # ended by its turn, before the pause that would have ended it: speech may go on
        early = self._turn_over() and ear.silent_samples < self._samples(self.config.silence_ms)
        for task in (speech.decodes.partial, speech.decodes.head):
            if task is not None:
                task.cancel()
        self.out.put_nowait(SpeechStopped(speech.item_id, self._ms(ear.clock)))
        # The decode started during the pause already holds all of the speech.
        final = speech.decodes.final or self._final_task()
        speech.decodes.final = None
        decoded = self._judged((await final).decoded)
        self._emit(decoded, end)
        if early and decoded.text:
            self.early = EarlyFinal(decoded.text, end)
        self._reset()

    async def _cut(self) -> None:
        """No pause came: end the utterance at its quietest moment; the rest goes on."""
        speech = self.speech
        at = speech.frames.quietest_frame(int(CUT_SEARCH_S * SAMPLE_RATE) // FRAME)
        rest = speech.frames.split(at)
        end = self.listening.clock - rest.samples
        speech.decodes.cancel()
        self.out.put_nowait(SpeechStopped(speech.item_id, self._ms(end)))
        self._emit(self._judged((await self._final_task()).decoded), end)
        self._reset()
        self._start(rest)

    def _judged(self, decoded: Decoded) -> Decoded:
        """The final, or nothing when the detector never heard the utterance and Whisper is not
        sure it held speech (a fan's gust, a hum, a cough)."""
        if self.speech.frames.heard:
            return decoded
        if confident(decoded.text, decoded.no_speech_prob, decoded.avg_logprob):
            return decoded
        return Decoded("", None, decoded.language)

    def _emit(self, decoded: Decoded, end: int) -> None:
        if not decoded.text:
            return
        speech = self.speech
        start_ms, end_ms = self._ms(speech.start), self._ms(end)
        self.out.put_nowait(
            Final(
                speech.item_id,
                decoded.text,
                start_ms,
                end_ms,
                decoded.avg_logprob,
                decoded.language,
            )
        )
        self.recent = f"{self.recent} {decoded.text}"[-CONTEXT_CHARS:]
        heard = speech.frames.heard and speech.frames.samples <= LEFT_AUDIO_S * SAMPLE_RATE
        audio = speech.frames.audio(self.threshold) if heard else np.zeros(0, np.float32)
        self.said = Said(audio, decoded.text, end)

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
        paused = self.listening.silent_samples * 1000 >= STALE_PARTIAL_PAUSE_MS * SAMPLE_RATE
        return not paused and self.slots.no_final_waiting()

    def _decode_final(
        self,
        samples: np.ndarray,
        speech_after,
        context: str,
        head: Head,
        said: Said | None = None,
        judge: bool = False,
    ) -> Turn:
        model, tok = realtime_model(self.local), tokenizer(self.local)
        beam = self.slots.final_beam()
        if said is not None:
            after = decode_after(model, tok, samples, self.config, said, beam)
            if after is not None:
                return Turn(after, judge and self.turns.complete(samples, after.text))
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
        if self.speech is not None:
            self.speech.decodes.cancel()

    def _reset(self) -> None:
        """Back to ``QUIET``: the utterance dropped, its decodes with it."""
        self._cancel_decodes()
        self.speech = None
        self.listening.preroll = Utterance()
        self.listening.silent_samples = 0

    @staticmethod
    def _ms(samples: int) -> int:
        return samples * 1000 // SAMPLE_RATE

    @staticmethod
    def _samples(ms: int) -> int:
        return ms * SAMPLE_RATE // 1000
