"""The end of a turn from what was said (issue 28), with the real models.

A final whose sentence ends and which Smart Turn judges complete goes out after a short pause;
speech that goes on after it (a false cut) starts a new utterance that must lose and double
nothing. The session works on the audio clock, so these tests wait for the decodes where a
client in real time would have waited for the pause: no test depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from faster_whisper.vad import VadOptions, get_speech_timestamps

from transcription.audio import float_to_pcm16
from transcription.engine_factory import engine_config
from transcription.engines.base import Final, SessionConfig
from transcription.engines.local.decode import decode_final
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DECODE_SLOTS, DecodeSlots, realtime_model, tokenizer
from transcription.engines.local.turns import TurnConfig, TurnDetector, install, sentence_ends

from ..speech import clip, normalise, wrong_words

pytestmark = pytest.mark.usefixtures("whisper")

RATE = 16000
STEP = 3200  # bytes: 100 ms, as clients send it


@pytest.fixture(scope="module")
def turn_model() -> Path:
    """Smart Turn, installed as ``manage.py install_turn_model`` does (once per machine)."""
    return install(Path(settings.LOCAL_TURN_MODEL))


def samples_of(name: str) -> np.ndarray:
    pcm, rate = clip(name).pcm16()
    assert rate == RATE
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768


def final_text(samples: np.ndarray) -> str:
    local = LocalConfig()
    return decode_final(realtime_model(local), tokenizer(local), samples, SessionConfig()).text


@pytest.mark.parametrize("name", ["A_LS_1272-128104-0000", "A_LS_61-70968-0000"])
def test_it_judges_a_finished_sentence_complete_and_one_cut_short_not(turn_model, name):
    detector = TurnDetector(TurnConfig(early_ms=200, model_path=str(turn_model)))
    said = np.concatenate([samples_of(name), np.zeros(RATE // 5, dtype=np.float32)])
    cut = said[: int(said.size * 0.6)]  # mid-sentence, 60 % of the way through
    assert detector.complete(said, final_text(said))
    assert not detector.complete(cut, final_text(cut))


def with_a_longer_pause(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The clip split at the first pause between words (Silero's) where Whisper closes a
    sentence, the first part ending in 300 ms of silence: long enough for an early final,
    not for the full pause."""
    samples = samples_of(name)
    options = VadOptions(min_silence_duration_ms=100, speech_pad_ms=0)
    spans = get_speech_timestamps(samples, options)
    for before, after in itertools.pairwise(spans):
        if sentence_ends(final_text(samples[: before["end"]])):
            pause = np.zeros(int(0.3 * RATE), dtype=np.float32)
            return np.concatenate([samples[: before["end"]], pause]), samples[after["start"] :]
    raise AssertionError(f"Whisper closes no sentence at a pause of {name}")


async def feed(session, samples: np.ndarray) -> None:
    pcm = float_to_pcm16(samples)
    for offset in range(0, len(pcm), STEP):
        await session.append(pcm[offset : offset + STEP])


async def until_idle(session, finals: list[Final]) -> None:
    """Until the session has taken all of its audio and no decode runs: what a pause of the
    speaker would have brought by now has been decoded (and a final judged complete sent)."""
    async with asyncio.timeout(120):
        # the decode slots signal no one when they fall idle: look every 50 ms
        slots = session.slots
        while session.audio.qsize() or slots.free < DECODE_SLOTS or slots.waiting:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # the worker's last look at the pause, and the reader's


async def speak_with_a_false_cut(turns: TurnConfig, name: str) -> tuple[list[Final], int]:
    """The clip with its first pause made longer, as a client in real time would send it:
    the decodes during the pause have time to finish. Its finals, and how many were sent
    during that pause (before the speech went on)."""
    first, rest = with_a_longer_pause(name)
    session = await LocalRealtimeEngine(LocalConfig(turns=turns), DecodeSlots()).open(
        SessionConfig()
    )
    finals: list[Final] = []

    async def read() -> None:
        async for event in session.events():
            if isinstance(event, Final):
                finals.append(event)

    reader = asyncio.create_task(read())
    await feed(session, first)
    await until_idle(session, finals)
    during_the_pause = len(finals)
    await feed(session, np.concatenate([rest, np.zeros(RATE, dtype=np.float32)]))
    await session.close()
    await reader
    return finals, during_the_pause


# "If the reader will excuse me, I will say nothing of my antecedents, nor of ...": Whisper
# closes a sentence at the reader's first pause, so with the threshold at 0 the turn is judged
# over there
FALSE_CUT_CLIP = "A_LS_2412-153948-0000"
SENTENCES = 2  # each ends in a pause of a second, where every rule ends the utterance


async def test_it_loses_and_doubles_nothing_when_speech_goes_on_after_an_early_final(
    turn_model,
):
    finals, during_the_pause = await speak_with_a_false_cut(
        TurnConfig(early_ms=200, model_path=str(turn_model), threshold=0.0), FALSE_CUT_CLIP
    )
    assert during_the_pause == 1, finals  # the early final: a false cut
    assert len(finals) == SENTENCES + 1, finals
    said = " ".join(f.text for f in finals)
    reference = normalise(clip(FALSE_CUT_CLIP).reference)
    assert wrong_words(reference, said) <= 1, said
    # at the seam, the words run on as they were said: none lost, none twice
    seam = normalise(finals[0].text).split()[-2:] + normalise(finals[1].text).split()[:2]
    assert f" {' '.join(seam)} " in f" {reference} ", (seam, said)
    assert finals[0].end_ms <= finals[1].start_ms


async def test_it_waits_for_the_full_pause_when_turned_off(settings, turn_model):
    settings.LOCAL_TURN_EARLY_MS = 200
    assert TurnDetector(engine_config("local").turns).enabled
    settings.LOCAL_TURN_EARLY_MS = 0
    turns = replace(engine_config("local").turns, threshold=0.0)
    assert not TurnDetector(turns).enabled
    finals, during_the_pause = await speak_with_a_false_cut(turns, FALSE_CUT_CLIP)
    assert during_the_pause == 0, finals
    assert len(finals) == SENTENCES, finals  # one final a sentence: the pause did not end one
    said = " ".join(f.text for f in finals)
    assert wrong_words(clip(FALSE_CUT_CLIP).reference, said) <= 1, said
