"""Even out speech levels before Whisper hears them: a far voice as loud as a near one.

Whisper's log-mel features are not normalised for level: speech 25 dB under another voice in
the same window is transcribed badly or not at all (on the far-speaker programme, tiny.en lost
a whole voice). The speech detector is not fooled by level (Silero scores the quiet voice as
speech), so its per-frame probabilities say where the speech is. Each stretch of speech, taken
between pauses, gets one constant gain that brings it to ``TARGET_DB``: a constant gain within
a stretch never bends a word, and the gain changes only in pauses. Pauses get the smaller of
their neighbours' gains, so silence and room noise are never raised above the speech around
them.
"""

from __future__ import annotations

import numpy as np

#: the speech level Whisper hears best: that of ordinary close-talking speech (dBFS, active)
TARGET_DB = -26.0
#: at most this much louder (a far voice) or quieter (a shouting one)
MAX_GAIN_DB, MIN_GAIN_DB = 30.0, -12.0
#: pauses shorter than this many frames stay inside one stretch
JOIN_FRAMES = 6


def speech_stretches(speech: np.ndarray, join: int = JOIN_FRAMES) -> list[tuple[int, int]]:
    """[start, end) frame ranges of speech, joined across pauses of at most ``join`` frames."""
    stretches: list[tuple[int, int]] = []
    for index in np.flatnonzero(speech):
        if stretches and index - stretches[-1][1] <= join:
            stretches[-1] = (stretches[-1][0], index + 1)
        else:
            stretches.append((index, index + 1))
    return stretches


def frame_gains_db(power: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The gain of every frame (dB), from each frame's mean power and whether it is speech."""
    stretches = speech_stretches(speech)
    gains = np.zeros(power.size)
    if not stretches:
        return gains
    levels = []
    for start, end in stretches:
        level = 10 * np.log10(np.mean(power[start:end][speech[start:end]]) + 1e-12)
        levels.append(float(np.clip(TARGET_DB - level, MIN_GAIN_DB, MAX_GAIN_DB)))
        gains[start:end] = levels[-1]
    # the pauses: the quieter of the stretches either side (the only one, at the ends)
    gains[: stretches[0][0]] = levels[0]
    gains[stretches[-1][1] :] = levels[-1]
    pairs = zip(stretches, stretches[1:], levels, levels[1:], strict=False)
    for (_, end), (start, _), left, right in pairs:
        gains[end:start] = min(left, right)
    return gains


def even_levels(
    samples: np.ndarray, speech_probability: np.ndarray, threshold: float
) -> np.ndarray:
    """``samples`` (float32), cut in frames of equal length, one probability each, evened out.

    Samples after the last whole frame keep the last frame's gain. The result is clipped to
    full scale, as any input would be.
    """
    frames = speech_probability.size
    if frames == 0:
        return samples
    frame = samples.size // frames
    framed = samples[: frames * frame].reshape(frames, frame)
    gains = frame_gains_db(np.mean(framed**2, axis=1), speech_probability >= threshold)
    scale = np.repeat(10 ** (gains / 20), frame)
    scale = np.concatenate([scale, np.full(samples.size - scale.size, scale[-1])])
    return np.clip(samples * scale, -1.0, 1.0).astype(np.float32)
