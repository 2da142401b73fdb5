"""Evening out speech levels: a far voice as loud as a near one, silence never raised."""

from __future__ import annotations

import numpy as np

from transcription.engines.levels import TARGET_DB, even_levels, speech_stretches

FRAME = 512


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples**2)))


def voice(frames: int, db: float, seed: int) -> np.ndarray:
    """Noise at a speech level: enough for a level test (the speech detector is not run here)."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, 1, frames * FRAME).astype(np.float32)
    return samples / np.sqrt(np.mean(samples**2)) * 10 ** (db / 20)


def test_each_stretch_of_speech_gets_one_gain_that_brings_it_to_the_target():
    near, pause, far = voice(64, -20, 1), voice(16, -70, 2), voice(64, -50, 3)
    samples = np.concatenate([near, pause, far])
    speech = np.concatenate([np.full(64, 0.9), np.zeros(16), np.full(64, 0.9)])

    evened = even_levels(samples, speech, 0.5)

    assert abs(level_db(evened[: near.size]) - TARGET_DB) < 0.1
    assert abs(level_db(evened[-far.size :]) - TARGET_DB) < 0.1
    # the pause gets the quieter neighbour's gain (the near voice's -6 dB), not the far one's +24
    in_pause = evened[near.size : near.size + pause.size]
    assert abs(level_db(in_pause) - level_db(pause) - (TARGET_DB + 20)) < 0.1
    # one gain inside a stretch: the waveform is only scaled, never bent
    ratio = evened[: near.size] / near
    assert np.allclose(ratio, ratio[0], rtol=1e-4)


def test_a_far_voice_is_raised_at_most_30_db():
    far = voice(64, -80, 4)
    evened = even_levels(far, np.full(far.size // FRAME, 0.9), 0.5)
    assert abs(level_db(evened) - (-80 + 30)) < 0.5


def test_without_speech_nothing_changes():
    room = voice(32, -60, 5)
    assert np.array_equal(even_levels(room, np.zeros(room.size // FRAME), 0.5), room)


def test_short_pauses_stay_inside_a_stretch():
    speech = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    assert speech_stretches(speech, join=2) == [(0, 5), (12, 13)]
