"""Finals due at the same moment, and the partials that would delay them, with the real model.

When every speaker of a room pauses at once their finals queue for the cores; each is then
decoded with the smaller beam, which scores as the full one on shared/audio and costs a seventh
less, and, for a long utterance, only after the head settled while it was said. A speaker alone
keeps the full beam and the whole utterance.
"""

from __future__ import annotations

import asyncio

import pytest

from transcription.audio import decode_file
from transcription.engines.base import SessionConfig
from transcription.engines.local.decode import decode_partial
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots, realtime_model, tokenizer
from transcription.engines.local.stream import STALE_PARTIAL_PAUSE_MS

from ..programme_scoring import stream_pcm_finals
from ..speech import Clip, clip, word_error_rate
from .streaming import silence

pytestmark = pytest.mark.usefixtures("whisper")

SAID = [clip("A_LS_1089-134691-0000"), clip("A_LS_61-70968-0000")]
SPEAKERS = 4


async def speak(engine: LocalRealtimeEngine, said: list[Clip] = SAID) -> str:
    """The clips said in real time, each followed by a pause; the text of the finals."""
    audio = b"".join(c.pcm16()[0] + silence(1.5) for c in said)
    return " ".join(f.text for f in await stream_pcm_finals(audio, engine, speed=1.0))


@pytest.mark.asyncio
async def test_finals_due_together_take_the_smaller_beam_and_stay_accurate():
    slots = DecodeSlots()
    engine = LocalRealtimeEngine(LocalConfig(), slots)
    reference = " ".join(c.reference for c in SAID)

    alone = await speak(engine)
    assert word_error_rate(reference, alone) <= 0.1, alone
    assert slots.crowded_finals == 0  # nobody else's final was due

    together = await asyncio.gather(*(speak(engine) for _ in range(SPEAKERS)))
    for text in together:
        assert word_error_rate(reference, text) <= 0.1, text
    # every pause came at once: at least the finals that waited for a core were crowded
    assert slots.crowded_finals >= len(SAID) * (SPEAKERS - 2)


@pytest.mark.asyncio
async def test_crowded_finals_of_a_long_utterance_decode_only_what_follows_its_head():
    slots = DecodeSlots()
    engine = LocalRealtimeEngine(LocalConfig(), slots)
    long = [clip("A_LJ001-0001")]  # 9.7 s with no pause that would end it early

    alone = await speak(engine, long)
    assert word_error_rate(long[0].reference, alone) <= 0.1, alone
    assert slots.finals_after_head == 0  # a final alone hears all of its utterance

    together = await asyncio.gather(*(speak(engine, long) for _ in range(SPEAKERS)))
    for text in together:
        assert word_error_rate(long[0].reference, text) <= 0.1, text
    assert slots.finals_after_head >= SPEAKERS - 2


@pytest.mark.asyncio
async def test_a_partial_gives_way_to_the_final_when_its_speaker_pauses():
    session = await LocalRealtimeEngine(LocalConfig(), DecodeSlots()).open(SessionConfig())
    samples = decode_file(SAID[1].path)
    try:
        assert "wizard" in session._decode_partial(samples).text
        # the pause that ends the sentence
        session.listening.silent_samples = STALE_PARTIAL_PAUSE_MS * 16
        assert session._decode_partial(samples) is None
    finally:
        await session.close()


def test_a_partial_no_longer_wanted_stops_after_its_encoder_pass():
    local = LocalConfig()
    model, tok = realtime_model(local), tokenizer(local)
    asked = []
    wanted = lambda: asked.append(True) or False  # noqa: E731
    samples = decode_file(SAID[1].path)
    assert decode_partial(model, tok, samples, SessionConfig(), still_wanted=wanted) is None
    assert asked == [True]
