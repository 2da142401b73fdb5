"""One speaker's audio as the live session hears it: Silero VAD over a stream, and an utterance's
frames with the speech probability of each (:mod:`.stream` decides what to do with them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..levels import even_levels

FRAME = 512  # Silero's frame at 16 kHz: 32 ms
CONTEXT = 64


class StreamingVad:
    """Silero VAD over a stream: the model's recurrent state is kept between frames.

    faster-whisper's detector runs a whole recording at once; this runs its ONNX session (not
    public: pinned, and its inputs checked by tests/test_faster_whisper_reaches.py) a frame at
    a time, each after the last 64 samples of the one before, as that call feeds it.
    """

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self.session = get_vad_model().session
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        batch = np.concatenate([self.context, frame])[None, :].astype(np.float32)
        output, self.h, self.c = self.session.run(None, {"input": batch, "h": self.h, "c": self.c})
        self.context = frame[-CONTEXT:]
        return float(np.asarray(output).reshape(-1)[0])


@dataclass
class Utterance:
    """Frames of audio and the speech probability of each.

    ``heard``: the speech detector heard speech in it. One it did not (opened because it was
    loud) is decoded for Whisper's second opinion: there a loud frame stands for speech.
    """

    frames: list[np.ndarray] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    loud: list[bool] = field(default_factory=list)
    heard: bool = True

    def add(self, frame: np.ndarray, probability: float, loud: bool = False) -> None:
        self.frames.append(frame)
        self.probabilities.append(probability)
        self.loud.append(loud)

    def scores(self, threshold: float) -> np.ndarray:
        """Each frame's speech score; where the detector heard none, loudness stands for it."""
        probabilities = np.array(self.probabilities)
        if self.heard:
            return probabilities
        return np.maximum(probabilities, np.array(self.loud) * threshold)

    @property
    def samples(self) -> int:
        return len(self.frames) * FRAME

    def audio(self, threshold: float) -> np.ndarray:
        """The samples, every stretch of speech brought to one level."""
        return even_levels(np.concatenate(self.frames), self.scores(threshold), threshold)

    def quietest_frame(self, search_frames: int) -> int:
        """The frame least like speech among the last ``search_frames`` (the latest, on ties)."""
        start = max(1, len(self.frames) - search_frames)
        window = np.array(self.probabilities[start:])
        return start + int(np.flatnonzero(window == window.min())[-1])

    def split(self, at: int) -> Utterance:
        """Keep the frames before ``at``; the rest, returned, start the next utterance."""
        rest = Utterance(self.frames[at:], self.probabilities[at:], self.loud[at:], self.heard)
        del self.frames[at:], self.probabilities[at:], self.loud[at:]
        return rest

    def dips(self):
        """``dip_between(start, end)``: the frame least like speech between two samples, as its
        score and its middle sample. Where speech pauses between two words, it dips there."""
        probabilities = np.array(self.probabilities)

        def dip_between(start: int, end: int) -> tuple[float, int]:
            first = min(max(0, start // FRAME), probabilities.size - 1)
            window = probabilities[first : max(first, end // FRAME) + 1]
            frame = first + int(np.argmin(window))
            return float(probabilities[frame]), frame * FRAME + FRAME // 2

        return dip_between

    def speech_after(self, threshold: float):
        """Whether any frame from a sample on is speech: where a decode may look for more."""
        scores = self.scores(threshold)
        return lambda sample: bool(np.any(scores[sample // FRAME :] >= threshold))
