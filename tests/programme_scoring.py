"""Scores for the finals of a programme (tests/programmes.py): WER, coverage, repeats."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import jiwer
import numpy as np

from .programmes import Utterance, Utterances
from .speech import normalise, word_error_rate

STEP = 3200  # bytes of PCM16 sent at a time: 100 ms at 16 kHz
STEP_SECONDS = STEP / 2 / 16000


class Final(NamedTuple):
    """A final caption, on the programme's clock."""

    text: str
    start_ms: int
    end_ms: int


Finals = Sequence[Final]


class Repeat(NamedTuple):
    phrase: str
    in_finals: int
    in_reference: int


def _in_order(finals: Finals) -> str:
    return " ".join(f.text for f in sorted(finals, key=lambda f: f.start_ms))


def programme_wer(utterances: Utterances, finals: Finals) -> float:
    """WER of all the finals, in start order, against the whole reference."""
    return word_error_rate(" ".join(u.reference for u in utterances), _in_order(finals))


def _share_found(reference: str, hypothesis: str) -> float:
    words = normalise(reference).split()
    said = normalise(hypothesis)
    if not words:
        return 1.0
    if not said:
        return 0.0
    # Aligned hits, not a bag of words: "the" said elsewhere must not count here.
    return jiwer.process_words(" ".join(words), said).hits / len(words)


def coverage(utterances: Utterances, finals: Finals, slack_ms: int = 1000) -> list[float]:
    """For each utterance, the share of its reference words found in the finals near it.

    A final is near an utterance when their times overlap once the utterance is widened by
    slack_ms on both sides. Words are matched by alignment after the Whisper normaliser.
    """
    shares = []
    for u in utterances:
        near = [f for f in finals if f.end_ms > u.start_ms - slack_ms]
        near = [f for f in near if f.start_ms < u.end_ms + slack_ms]
        shares.append(_share_found(u.reference, _in_order(near)))
    return shares


def windowed_coverage(
    utterances: Utterances, finals: Finals, window_ms: int = 10_000, slack_ms: int = 1000
) -> list[float]:
    """The share of reference words found in the finals, per ``window_ms`` of speech.

    Consecutive utterances are grouped until their speech adds up to a window; each group's
    words are matched against the finals near it, as in :func:`coverage`.
    """
    groups: list[list[Utterance]] = [[]]
    for u in utterances:
        if sum(x.end_ms - x.start_ms for x in groups[-1]) >= window_ms:
            groups.append([])
        groups[-1].append(u)
    shares = []
    for group in groups:
        start, end = group[0].start_ms - slack_ms, group[-1].end_ms + slack_ms
        near = [f for f in finals if f.end_ms > start and f.start_ms < end]
        shares.append(_share_found(" ".join(u.reference for u in group), _in_order(near)))
    return shares


def worst_utterance(
    utterances: Utterances, finals: Finals, slack_ms: int = 1000
) -> tuple[Utterance, float]:
    """The utterance with the lowest coverage, and its coverage."""
    shares = coverage(utterances, finals, slack_ms)
    worst = int(np.argmin(shares))
    return utterances[worst], shares[worst]


def _ngrams(text: str, words: int) -> Counter[str]:
    tokens = normalise(text).split()
    return Counter(" ".join(tokens[i : i + words]) for i in range(len(tokens) - words + 1))


def repeated_phrases(utterances: Utterances, finals: Finals, words: int = 3) -> list[Repeat]:
    """Phrases of `words` words said at least twice in the finals, more often than in the reference.

    A longer phrase repeated shows as each of its `words`-word windows, so the default of 3
    finds every repeat of 3 words or more. In the finals' first-occurrence order.
    """
    said = _ngrams(_in_order(finals), words)
    expected = _ngrams(" ".join(u.reference for u in utterances), words)
    return [
        Repeat(phrase, count, expected[phrase])
        for phrase, count in said.items()
        if count >= 2 and count > expected[phrase]
    ]


async def stream_finals(programme, engine) -> list[Final]:
    """A realtime engine's finals of a programme, on the programme's clock.

    The audio goes in as fast as the engine takes it: the local engine works on the audio
    clock, so its finals are nearly those of real time.
    """
    return await stream_pcm_finals(programme.pcm16(), engine)


async def stream_pcm_finals(pcm: bytes, engine, speed: float | None = None) -> list[Final]:
    """A realtime engine's finals of 16 kHz PCM16, on its clock: as fast as the engine takes
    it, or paced at ``speed`` times real time (so that decodes started while the speaker goes
    on can finish, as they do live)."""
    from transcription.engines.base import Final as EngineFinal
    from transcription.engines.base import SessionConfig

    session = await engine.open(SessionConfig(language="en"))
    finals: list[Final] = []

    async def read() -> None:
        async for event in session.events():
            if isinstance(event, EngineFinal):
                finals.append(Final(event.text, event.start_ms, event.end_ms))

    reader = asyncio.create_task(read())
    started = time.perf_counter()
    for index, offset in enumerate(range(0, len(pcm), STEP)):
        await session.append(pcm[offset : offset + STEP])
        if speed:
            due = started + (index + 1) * STEP_SECONDS / speed
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
    await session.close()
    await reader
    return finals
