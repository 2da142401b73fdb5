"""No text the speaker did not say: a cough is not "Thank you.".

Silero VAD takes one of these coughs for speech, so Whisper decodes it; without Whisper's own
no-speech rule (a window it thinks held no speech, with text it doubts) the final said "Thank
you.".
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.programme_scoring import stream_finals
from tests.programmes import Programme
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

RATE = 16000


def cough(rng: np.random.Generator, level_db: float) -> np.ndarray:
    """300 ms of noise through a resonance near 500 Hz: a sharp attack and an 80 ms decay."""
    n = int(0.3 * RATE)
    pole = 0.97 * np.exp(2j * np.pi * 500 / RATE)
    a1, a2 = 2 * pole.real, -(abs(pole) ** 2)
    excitation, rasp = rng.standard_normal(n), np.zeros(n)
    for i in range(n):
        rasp[i] = excitation[i] + a1 * rasp[i - 1] * (i > 0) + a2 * rasp[i - 2] * (i > 1)
    t = np.arange(n)
    rasp *= np.minimum(1, t / (0.01 * RATE)) * np.exp(-t / (0.08 * RATE))
    return rasp / np.sqrt(np.mean(rasp**2)) * 10 ** (level_db / 20)


async def test_coughs_give_no_caption():
    rng = np.random.default_rng(7)
    parts = [np.zeros(RATE)]
    for level_db in (-20, -12, -6, -20, -12):
        parts += [cough(rng, level_db), np.zeros(int(1.5 * RATE))]
    samples = np.concatenate(parts)
    samples += rng.standard_normal(samples.size) * 1e-3  # a quiet room, −60 dBFS
    samples = np.clip(np.round(samples * 32768), -32768, 32767) / 32768  # as PCM16 carries it
    coughs = Programme("coughs", "five coughs", samples.astype(np.float32), [])
    finals = await stream_finals(coughs, LocalRealtimeEngine(LocalConfig(threads=2), DecodeSlots()))
    assert finals == []
