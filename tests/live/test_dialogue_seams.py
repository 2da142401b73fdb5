"""A dialogue of short turns loses and doubles no word at a seam (issue 23, parts 3 and 4).

Voices of shared/audio take short turns, each cut from its clip at pauses between words: a
greeting ("and so my fellow Americans"), then the same phrases said once by each of two
turns: "he could wait no longer" (two recordings), "the middle" (two voices). Most turns are
utterances of their own, each decoded after the one before it (left_context.py); two follow
each other after 0.3 s, where the final started in the pause is given up and speech goes on.
The repetition guard lets a two-word phrase through twice, so it hides no "the middle" said
twice at a seam (issue 23's "Good morning. Good morning."): every two-word phrase is counted.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.noisy_rooms import clip_samples
from tests.programme_scoring import (
    coverage,
    programme_wer,
    repeated_phrases,
    stream_pcm_finals,
)
from tests.programmes import Utterance
from tests.speech import clip, normalise
from transcription.audio import float_to_pcm16
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots

pytestmark = pytest.mark.usefixtures("whisper")

RATE = 16000
PAD_S = 0.08
LEVEL = 0.05  # every voice at one level (RMS)
#: (clip, start s, end s, what is said, the pause after it in s): the words' edges by Whisper's
#: alignment of each clip
TURNS = [
    ("A01_jfk_inaugural", 0.0, 2.26, "and so my fellow Americans", 0.7),
    ("A_LS_1089-134691-0000", 0.0, 1.68, "he could wait no longer", 0.7),
    ("A_LS_1089-134691-0001", 3.58, 4.84, "but he could wait no longer", 0.7),
    ("A_LJ001-0005", 2.06, 2.62, "in the middle", 0.3),
    ("A_LS_1272-128104-0000", 2.06, 3.18, "of the middle classes", 0.7),
    ("A_LS_61-70968-0000", 0.0, 2.4, "he began a confused complaint against the wizard", 0.7),
    ("A_LS_2412-153948-0000", 0.0, 2.12, "if the reader will excuse me", 2.0),
]
#: each said once, in two turns (or once, for the greeting)
PHRASES = {"he could wait no longer": 2, "the middle": 2, "and so my fellow americans": 1}


def dialogue() -> tuple[np.ndarray, list[Utterance]]:
    parts, turns, at = [np.zeros(RATE // 2)], [], RATE // 2
    for name, start, end, said, pause in TURNS:
        first, last = int(max(0.0, start - PAD_S) * RATE), int((end + PAD_S) * RATE)
        samples = clip_samples(clip(name))[first:last]
        samples = samples * LEVEL / np.sqrt(np.mean(samples**2))
        turns.append(Utterance(name, name, at // 16, (at + samples.size) // 16, said, 0.0))
        parts += [samples, np.zeros(int(pause * RATE))]
        at += samples.size + int(pause * RATE)
    return np.concatenate(parts).astype(np.float32), turns


async def test_each_turn_keeps_its_words_and_no_phrase_is_said_twice():
    samples, turns = dialogue()
    engine = LocalRealtimeEngine(LocalConfig(), DecodeSlots())
    finals = await stream_pcm_finals(float_to_pcm16(samples), engine, speed=1.0)
    said = " / ".join(f.text for f in finals)
    text = " ".join(normalise(f.text) for f in finals)
    for phrase, times in PHRASES.items():
        assert text.count(phrase) == times, (phrase, said)
    assert repeated_phrases(turns, finals, words=2) == [], said
    for turn, share in zip(turns, coverage(turns, finals, slack_ms=300), strict=True):
        assert share >= 0.75, (turn.reference, said)
    assert programme_wer(turns, finals) <= 0.1, said


async def test_a_phrase_said_again_right_after_itself_is_kept_twice():
    """The same words as the previous final, as a short utterance of their own: decoded after
    it, Whisper starts with the prefix's last words, which may be its own echo; decoded alone
    they are kept (the second recording's "he could wait no longer", without its "but")."""
    first = clip_samples(clip("A_LS_1089-134691-0000"))
    again = clip_samples(clip("A_LS_1089-134691-0001"))[int(3.66 * RATE) : int(4.92 * RATE)]
    pause = np.zeros(int(0.7 * RATE))
    samples = np.concatenate([pause, first, pause, again, np.zeros(2 * RATE)])
    engine = LocalRealtimeEngine(LocalConfig(), DecodeSlots())
    finals = await stream_pcm_finals(float_to_pcm16(samples.astype(np.float32)), engine, 1.0)
    assert [normalise(f.text) for f in finals] == ["he could wait no longer"] * 2, finals
