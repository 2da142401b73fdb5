"""What the speech detector hears, and when Whisper is asked anyway.

Silero VAD is not the only gate. It hears the audio high-passed (DC, hum's fundamental and the
rumble below 100 Hz taken out). Whether Whisper hears it so too was measured (docs/BENCHMARKS.md,
"The speech gate"): in batch it does (the dev set's recording with a rumble 15 dB over the voice
went from 21.7 % to 10.0 % WER, the telephone room from 7.0 % to 2.7 %); live it does not (there
the filter made Whisper loop on a short utterance under a hum and lose words under a fan, and
gained nothing on the dev set). A stretch the detector still rejects while its level stands well
above the room's noise floor gets a second opinion: Whisper decodes it, and its text is kept only
when Whisper is confident it is speech, so that a fan, a hum or a cough alone give no text.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import signal

from .decode import (
    COMPRESSION_RATIO_LIMIT,
    LOGPROB_LIMIT,
    NO_SPEECH_LIMIT,
    compression_ratio,
)

SAMPLE_RATE = 16000
#: a 4th-order Butterworth high-pass at 100 Hz: on the rumble recording Silero heard speech in
#: 67 % of frames (49 % unfiltered, 58 % through a 2nd-order 80 Hz one); speech loses nothing
#: Whisper uses (a telephone line keeps only 300-3400 Hz)
HIGH_PASS_HZ = 100
HIGH_PASS_ORDER = 4
_SOS = signal.butter(HIGH_PASS_ORDER, HIGH_PASS_HZ, "highpass", fs=SAMPLE_RATE, output="sos")

#: a frame this far over the noise floor is loud enough for a second opinion ...
LOUD_OVER_FLOOR_DB = 12.0
#: ... and at least this loud (a far voice, once high-passed): digital silence has no floor
LOUD_AT_LEAST_DB = -55.0
#: ... and no further under the loudest frame of the last few seconds: a breath or a room's
#: echo after the last word is well over a quiet floor, and held the utterance's end back
LOUD_UNDER_PEAK_DB = 30.0
#: the floor is the quietest frame of the last few seconds (a pause between words is enough)
FLOOR_WINDOW_FRAMES = 94  # 3 s of 32 ms frames


def high_passed(samples: np.ndarray) -> np.ndarray:
    """A whole recording high-passed (float32)."""
    return signal.sosfilt(_SOS, samples).astype(np.float32)


class HighPass:
    """The same filter over a stream: its state is kept from one frame to the next."""

    def __init__(self) -> None:
        self.state = np.zeros((_SOS.shape[0], 2))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        filtered, self.state = signal.sosfilt(_SOS, frame, zi=self.state)
        return filtered.astype(np.float32)


def frame_db(frame: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))


class NoiseFloor:
    """The room's noise floor, frame by frame: the quietest of the last few seconds.

    A steady fan or hum sets the floor, so it never counts as loud; speech does, as it rises
    well above the pauses between its words, and the tail after it does not.
    """

    def __init__(self) -> None:
        self.levels: deque[float] = deque(maxlen=FLOOR_WINDOW_FRAMES)

    def loud(self, frame: np.ndarray) -> bool:
        """Whether this (high-passed) frame stands well above the floor; it joins the floor."""
        level = frame_db(frame)
        self.levels.append(level)  # the oldest falls out: no list copied per 32 ms frame
        floor, peak = min(self.levels), max(self.levels)
        least = max(floor + LOUD_OVER_FLOOR_DB, peak - LOUD_UNDER_PEAK_DB, LOUD_AT_LEAST_DB)
        return level >= least


def loud_frames(samples: np.ndarray, frame: int) -> np.ndarray:
    """Of a whole (high-passed) recording, which frames stand well above the noise floor."""
    floor = NoiseFloor()
    count = samples.size // frame
    return np.array([floor.loud(samples[i * frame : (i + 1) * frame]) for i in range(count)])


def confident(text: str, no_speech_prob: float, avg_logprob: float | None) -> bool:
    """Whether Whisper is sure a stretch the detector rejected held speech: by its own
    thresholds (whisper/transcribe.py), all three at once where Whisper needs only one: it
    heard speech, it is sure of its words, and they are no loop."""
    sure = avg_logprob is not None and avg_logprob >= LOGPROB_LIMIT
    no_loop = compression_ratio(text) <= COMPRESSION_RATIO_LIMIT
    return bool(text) and no_speech_prob <= NO_SPEECH_LIMIT and sure and no_loop
