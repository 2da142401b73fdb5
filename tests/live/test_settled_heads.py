"""The head of a long utterance, settled while it is said, with the real model.

Whisper decodes the utterance so far; its words up to a pause well before the audio ends are
kept, and the rest starts in that pause, so that a crowded final decodes only the rest. Nothing
may be lost or said twice at that seam, and no seam may fall where speech runs on.
"""

from __future__ import annotations

import numpy as np
import pytest

from transcription.audio import decode_file
from transcription.engines.base import SessionConfig
from transcription.engines.local.decode import (
    CROWDED_FINAL_BEAM_SIZE,
    NO_HEAD,
    SAMPLE_RATE,
    SETTLED_GAP_SCORE,
    decode_final,
    decode_head,
    deepest_pause,
)
from transcription.engines.local.engine import LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots, LocalConfig, realtime_model, tokenizer
from transcription.engines.local.stream import (
    FRAME,
    STALE_PARTIAL_PAUSE_MS,
    StreamingVad,
    Utterance,
)

from ..speech import clip, normalise, word_error_rate

pytestmark = pytest.mark.usefixtures("whisper")

SAID = clip("A_LJ001-0001")  # 9.7 s of fluent speech
THRESHOLD = 0.5


def heard(samples: np.ndarray) -> Utterance:
    """The samples as a live session keeps them: whole frames, each with its speech score."""
    vad, utterance = StreamingVad(), Utterance()
    for start in range(0, samples.size - FRAME + 1, FRAME):
        frame = samples[start : start + FRAME]
        utterance.add(frame, vad.probability(frame))
    return utterance


def mid_sentence(said=SAID, seconds: int = 8) -> Utterance:
    """The clip's first seconds, as the session holds them while the speaker is mid-sentence."""
    return heard(decode_file(said.path)[: seconds * SAMPLE_RATE])


def settled_and_finished(said, seconds: int):
    """The head settled ``seconds`` into the clip, and the crowded final after it."""
    local = LocalConfig()
    model, tok = realtime_model(local), tokenizer(local)
    so_far = mid_sentence(said, seconds)
    head = decode_head(model, tok, so_far.audio(THRESHOLD), SessionConfig(), NO_HEAD, so_far.dips())
    assert head.text and head.samples > 0
    score, _ = so_far.dips()(head.samples, head.samples)
    assert score < SETTLED_GAP_SCORE  # the seam is a pause between words
    said_so_far = normalise(head.text).split()
    first_words = " ".join(normalise(said.reference).split()[: len(said_so_far)])
    assert word_error_rate(first_words, head.text) < 0.1, head.text

    whole = heard(decode_file(said.path))
    final = decode_final(
        model,
        tok,
        whole.audio(THRESHOLD),
        SessionConfig(),
        speech_after=whole.speech_after(THRESHOLD),
        beam=CROWDED_FINAL_BEAM_SIZE,
        head=head,
    )
    assert final.text.startswith(head.text)
    return head, final


def test_a_head_settles_the_first_words_and_a_crowded_final_goes_on_from_them():
    _, final = settled_and_finished(SAID, 8)
    assert word_error_rate(SAID.reference, final.text) == 0, final.text


def test_a_head_settles_inside_a_sentence_where_the_speaker_pauses_between_words():
    """One sentence, with no segment end a second before the audio's: Whisper's segments
    settled nothing in it, and its final waited a whole round behind the others."""
    said = clip("A_LJ001-0007")  # "the earliest book printed with movable types, the ..."
    head, final = settled_and_finished(said, 7)
    assert normalise(head.text).split()[-2:] == ["movable", "types"]
    assert "movable types the" in normalise(final.text)  # no word lost or said twice
    assert word_error_rate(said.reference, final.text) < 0.1, final.text


def test_a_head_no_longer_wanted_stops_after_its_encoder_pass():
    local = LocalConfig()
    model, tok = realtime_model(local), tokenizer(local)
    so_far = mid_sentence()
    asked = []
    wanted = lambda: asked.append(True) or False  # noqa: E731
    config, dips = SessionConfig(), so_far.dips()
    kept = decode_head(model, tok, so_far.audio(THRESHOLD), config, NO_HEAD, dips, 5, wanted)
    assert kept is NO_HEAD  # wanted, the same audio settles the first words (above)
    assert asked == [True]


@pytest.mark.asyncio
async def test_a_head_gives_way_to_the_final_when_its_speaker_pauses():
    """In lockstep a head's decode, asked for just before the room pauses, held a core that
    the finals waited for; and a head whose speaker paused is dropped with the utterance."""
    session = await LocalRealtimeEngine(LocalConfig(), DecodeSlots()).open(SessionConfig())
    so_far = mid_sentence()
    audio, dips = so_far.audio(THRESHOLD), so_far.dips()
    try:
        assert session._decode_head(audio, NO_HEAD, dips).text
        session.listening.silent_samples = STALE_PARTIAL_PAUSE_MS * 16
        assert session._decode_head(audio, NO_HEAD, dips) is NO_HEAD
    finally:
        await session.close()


def test_a_dip_is_the_frame_least_like_speech_between_two_samples():
    utterance = Utterance()
    scores = [0.99] * 60
    scores[20], scores[26] = 0.7, 0.4  # two dips between words
    for score in scores:
        utterance.add(np.zeros(FRAME, np.float32), score)
    dip_between = utterance.dips()
    assert dip_between(18 * FRAME, 30 * FRAME) == (0.4, 26 * FRAME + FRAME // 2)
    assert dip_between(18 * FRAME, 24 * FRAME) == (0.7, 20 * FRAME + FRAME // 2)
    assert dip_between(-FRAME, 2 * FRAME)[1] == FRAME // 2  # clamped to the utterance
    assert dip_between(70 * FRAME, 80 * FRAME)[1] == 59 * FRAME + FRAME // 2


def aligned(*words: tuple[str, float, float]) -> list[dict]:
    return [{"word": w, "start": start, "end": end, "tokens": []} for w, start, end in words]


def test_the_head_ends_in_the_deepest_pause_among_words_settled_by_then():
    words = aligned(("a", 0.0, 1.0), ("b", 1.2, 2.0), ("c", 2.5, 3.0), ("d", 3.4, 4.0))
    pauses = {1.0: 0.3, 2.0: 0.1, 3.0: 0.05}  # the speech detector's dip after each word

    def dip_between(start: int, end: int) -> tuple[float, int]:
        after = next(end_s for end_s in pauses if start < end_s * SAMPLE_RATE < end)
        return pauses[after], int(after * SAMPLE_RATE)

    assert deepest_pause(words, 3.5, dip_between) == (3, 3 * SAMPLE_RATE)
    assert deepest_pause(words, 2.5, dip_between) == (2, 2 * SAMPLE_RATE)  # c ends too late
    pauses[2.0] = 0.6  # speech runs on between b and c: no seam there, however late
    assert deepest_pause(words, 2.5, dip_between) == (1, 1 * SAMPLE_RATE)
    pauses[1.0] = SETTLED_GAP_SCORE
    assert deepest_pause(words, 2.5, dip_between) is None
