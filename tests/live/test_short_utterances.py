"""A short utterance between two pauses keeps its words (issue 23, part 4), with the real model.

JFK pauses for a second either side of "ask not", so the live engine hears it as an utterance
of its own; decoded alone, Whisper wrote "as not", "s not" or "S-not!" depending on where the
pause was cut. Its final is decoded after the utterance before it (left_context.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.noisy_rooms import clip_samples
from tests.programme_scoring import stream_pcm_finals
from tests.speech import clip, normalise, word_error_rate
from transcription.audio import float_to_pcm16
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.left_context import LEFT_GAP_S, SHORT_UTTERANCE_S, Said
from transcription.engines.local.models import DecodeSlots

pytestmark = pytest.mark.usefixtures("whisper")

RATE = 16000
LEAD_S = 0.5
#: where Silero hears "ask not" in the clip, a pause of 1.1 s either side
ASK_NOT_S = (3.33, 4.35)


async def test_jfks_ask_not_between_two_pauses_keeps_its_words():
    said = clip("A01_jfk_inaugural")
    lead, tail = np.zeros(int(LEAD_S * RATE)), np.zeros(2 * RATE)
    pcm = float_to_pcm16(np.concatenate([lead, clip_samples(said), tail]).astype(np.float32))
    engine = LocalRealtimeEngine(LocalConfig(), DecodeSlots())
    finals = await stream_pcm_finals(pcm, engine, speed=1.0)  # a client in real time
    start, end = ((LEAD_S + s) * 1000 for s in ASK_NOT_S)
    own = [f for f in finals if f.start_ms < end and f.end_ms > start]
    assert len(own) == 1 and own[0].end_ms - own[0].start_ms < 2000, finals  # on its own
    assert normalise(own[0].text) == "ask not", finals
    whole = " ".join(f.text for f in finals)
    assert word_error_rate(said.reference, whole) == 0, whole  # nothing lost or said twice


def test_only_a_short_utterance_soon_after_another_gets_it_as_its_left_context():
    before = Said(np.ones(2 * RATE, np.float32), "And so my fellow Americans.", end=5 * RATE)
    short, long = np.ones(int(SHORT_UTTERANCE_S * RATE)), np.ones(int(SHORT_UTTERANCE_S * RATE) + 1)
    soon = before.end + int(LEFT_GAP_S * RATE)
    assert before.before(soon, short)
    assert not before.before(soon + 1, short)  # another stretch of talk
    assert not before.before(soon, long)  # Whisper hears enough of it alone
    nothing = Said(np.zeros(0, np.float32), "a cough's final", end=5 * RATE)
    assert not nothing.before(soon, short)  # its audio was not kept (not heard, or too long)
