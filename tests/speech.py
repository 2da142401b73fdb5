"""Real speech clips from ../shared/audio and the word error rate used to score them."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "audio" / "setA"


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str

    def pcm16(self) -> tuple[bytes, int]:
        """The clip's raw PCM16 mono bytes and sample rate."""
        with wave.open(str(self.path), "rb") as wav:
            assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
            return wav.readframes(wav.getnframes()), wav.getframerate()


@cache
def clips() -> list[Clip]:
    found = []
    for wav in sorted(AUDIO_DIR.glob("*.wav")):
        reference = wav.with_suffix(".txt").read_text().strip()
        found.append(Clip(wav.stem, wav, reference))
    if not found:
        raise FileNotFoundError(f"no speech clips in {AUDIO_DIR}")
    return found


def clip(name: str) -> Clip:
    return next(c for c in clips() if c.name == name)


_normalise = EnglishTextNormalizer()


def normalise(text: str) -> str:
    """Whisper's English normaliser, with two changes for references that are read text: words in
    parentheses are kept (the normaliser drops them as sounds, but here they were read out), and
    digits it leaves apart are joined, as it joins number words ("five five" and "5 5": 55)."""
    read = text.replace("(", ", ").replace(")", ", ")
    return re.sub(r"(?<=\d) (?=\d)", "", _normalise(read))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER after Whisper's English normaliser on both sides."""
    return jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>")


def wrong_words(reference: str, hypothesis: str) -> int:
    """Words substituted, left out or added, after the same normaliser."""
    result = jiwer.process_words(normalise(reference), normalise(hypothesis) or "<empty>")
    return result.substitutions + result.deletions + result.insertions


def corpus_word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """WER over many (reference, hypothesis) pairs, weighted by reference length."""
    references = [normalise(r) for r, _ in pairs]
    hypotheses = [normalise(h) or "<empty>" for _, h in pairs]
    return jiwer.wer(references, hypotheses)
