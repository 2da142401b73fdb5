"""The OpenAI engine's own turn detection (for streaming models): real speech through Silero."""

from __future__ import annotations

from itertools import pairwise

from tests.live.streaming import at_rate
from tests.speech import clip
from transcription.engines.local.stream import MAX_UTTERANCE_S
from transcription.engines.openai.turns import TurnDetector

RATE = 24000
CHUNK = RATE * 2 // 10  # 100 ms, as the engine is given audio


def turns(names: list[str], silence_ms: int) -> list[tuple[str, int]]:
    detector = TurnDetector(threshold=0.5, silence_ms=silence_ms)
    audio = b""
    for name in names:
        pcm, rate = clip(name).pcm16()
        audio += at_rate(pcm, rate, RATE)
    found = []
    for offset in range(0, len(audio), CHUNK):
        found += [(t.kind, t.ms) for t in detector.feed(audio[offset : offset + CHUNK])]
    return found


def test_it_ends_an_utterance_at_each_pause():
    found = turns(["A01_jfk_inaugural"], silence_ms=500)
    kinds = [kind for kind, _ in found]
    assert kinds[0] == "start"
    assert kinds.count("end") >= 3, found  # "... Americans, | ask not | what ... | ask what ..."
    for (kind, at), (next_kind, next_at) in pairwise(found):
        assert at <= next_at
        assert (kind == "start") != (next_kind == "start"), "starts and ends alternate"


def test_a_speaker_who_never_pauses_still_gets_an_end_every_15_s():
    names = ["A_LJ001-0001", "A_LJ001-0003", "A_LJ001-0005", "A_LJ001-0007"]  # 36 s, few pauses
    found = turns(names, silence_ms=10_000)  # no pause is long enough
    assert [kind for kind, _ in found].count("cut") >= 2, found
    boundaries = [at for _, at in found]
    assert all(b - a <= MAX_UTTERANCE_S * 1000 for a, b in pairwise(boundaries)), found
