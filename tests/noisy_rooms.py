"""Rooms that are not quiet, made deterministically: speech from shared/audio under a hum, a
low rumble with a DC offset, a fan, or through a telephone line.

Every generator takes a seed, so a run hears exactly the same noise as the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from transcription.audio import pcm16_to_float, resample

from .speech import Clip

RATE = 16000
#: the voice's level in these rooms (active speech, dBFS): the issue's recording
SPEECH_DB = -30.0


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-20))


def at_level(samples: np.ndarray, db: float) -> np.ndarray:
    return samples * 10 ** ((db - level_db(samples)) / 20)


def band_db(samples: np.ndarray, low: float, high: float) -> float:
    """The level of what lies between two frequencies (steep filters either side)."""
    if low <= 0:
        band = signal.butter(8, high, "lowpass", fs=RATE, output="sos")
    else:
        band = signal.butter(8, [low, high], "bandpass", fs=RATE, output="sos")
    return level_db(signal.sosfilt(band, samples))


def clip_samples(clip: Clip) -> np.ndarray:
    pcm, rate = clip.pcm16()
    return resample(pcm16_to_float(pcm), rate, RATE).astype(np.float64)


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 Hz and its harmonics, as a badly earthed microphone picks it up."""
    t = np.arange(n) / RATE
    phases = rng.uniform(0, 2 * np.pi, 4)
    parts = [
        np.sin(2 * np.pi * 50 * k * t + p) / k for k, p in zip((1, 2, 3, 5), phases, strict=True)
    ]
    return np.sum(parts, axis=0)


def rumble(n: int, rng: np.random.Generator) -> np.ndarray:
    """Broadband noise below 100 Hz, falling off above it as a real one does (12 dB an
    octave): a car, an air conditioner, wind on the microphone."""
    low = signal.butter(2, 100, "lowpass", fs=RATE, output="sos")
    return signal.sosfilt(low, rng.standard_normal(n + RATE))[RATE:]


def fan(n: int, rng: np.random.Generator) -> np.ndarray:
    """A laptop fan: broadband noise falling off with frequency, and a whine at its blade rate."""
    brown = signal.butter(1, 300, "lowpass", fs=RATE, output="sos")
    shaped = signal.sosfilt(brown, rng.standard_normal(n + RATE))[RATE:]
    hiss = 0.05 * rng.standard_normal(n)
    whine = 0.02 * np.sin(2 * np.pi * 420 * np.arange(n) / RATE)
    return shaped / np.std(shaped) + hiss + whine


def telephone(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Through a phone line: 300-3400 Hz, 8 kHz, with the line's faint hiss, and back."""
    band = signal.butter(4, [300, 3400], "bandpass", fs=RATE, output="sos")
    narrow = resample(signal.sosfilt(band, samples).astype(np.float32), RATE, 8000)
    narrow = narrow + 10 ** (-60 / 20) * rng.standard_normal(narrow.size)
    return resample(narrow.astype(np.float32), 8000, RATE).astype(np.float64)


@dataclass(frozen=True)
class Room:
    """A noise and how it meets the voice: ``make(speech, rng)`` is the room with someone
    speaking (``speech`` all zeros: the room alone)."""

    name: str
    make: Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _hum_room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return speech + at_level(hum(speech.size, rng), SPEECH_DB + 6)


def _rumble_room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # the recording: the band below 100 Hz 15 dB over the voice's speech band (100 Hz
    # to 7 kHz, the level of the voice as it is made here), and a DC offset
    noise = rumble(speech.size, rng)
    noise *= 10 ** ((SPEECH_DB + 15 - band_db(noise, 0, 100)) / 20)
    return speech + noise + 0.05


def _fan_room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return speech + at_level(fan(speech.size, rng), SPEECH_DB - 5)


def _phone_room(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return telephone(speech, rng)


ROOMS = {
    room.name: room
    for room in (
        Room("hum", _hum_room),
        Room("rumble", _rumble_room),
        Room("fan", _fan_room),
        Room("telephone", _phone_room),
    )
}


def in_room(room: str, clip: Clip | None, seconds: float = 0.0, seed: int = 23) -> np.ndarray:
    """float32 at 16 kHz: the clip's voice at ``SPEECH_DB`` in the room, with a second of the
    room before and after it; or, with no clip, ``seconds`` of the room alone."""
    rng = np.random.default_rng(seed)
    if clip is None:
        speech = np.zeros(int(seconds * RATE))
    else:
        voice = at_level(clip_samples(clip), SPEECH_DB)
        speech = np.concatenate([np.zeros(RATE), voice, np.zeros(RATE)])
    samples = ROOMS[room].make(speech, rng)
    # as PCM16 carries it
    return (np.clip(np.round(samples * 32768), -32768, 32767) / 32768).astype(np.float32)
