"""The head of a long utterance, settled while it is said, with the real model.

Whisper decodes the utterance so far; what it finished well before the audio ends is kept,
and the rest starts in the gap after its last word, so that a crowded final decodes only the
rest. Nothing may be lost or said twice at that seam.
"""

from __future__ import annotations

import numpy as np
import pytest

from transcription.audio import decode_file
from transcription.engines.base import SessionConfig
from transcription.engines.local import LocalRealtimeEngine
from transcription.engines.local_models import LocalConfig, realtime_model, tokenizer
from transcription.engines.local_stream import (
    FRAME,
    GAP_SEARCH_S,
    STALE_PARTIAL_PAUSE_MS,
    StreamingVad,
    Utterance,
)
from transcription.engines.whisper_decode import (
    CROWDED_FINAL_BEAM_SIZE,
    NO_HEAD,
    SAMPLE_RATE,
    SETTLED_MARGIN_S,
    decode_final,
    decode_head,
)

from ..speech import clip, normalise, word_error_rate

pytestmark = [pytest.mark.slow]

SAID = clip("A_LJ001-0001")  # 9.7 s of fluent speech
THRESHOLD = 0.5


def heard(samples: np.ndarray) -> Utterance:
    """The samples as a live session keeps them: whole frames, each with its speech score."""
    vad, utterance = StreamingVad(), Utterance()
    for start in range(0, samples.size - FRAME + 1, FRAME):
        frame = samples[start : start + FRAME]
        utterance.add(frame, vad.probability(frame))
    return utterance


def mid_sentence() -> Utterance:
    """The clip's first 8 s, as the session holds them while the speaker is mid-sentence."""
    return heard(decode_file(SAID.path)[: 8 * SAMPLE_RATE])


def test_a_head_settles_the_first_words_and_a_crowded_final_goes_on_from_them():
    local = LocalConfig()
    model, tok = realtime_model(local), tokenizer(local)
    so_far = mid_sentence()

    head = decode_head(
        model, tok, so_far.audio(THRESHOLD), SessionConfig(), NO_HEAD, so_far.quietest_near()
    )
    assert head.text and head.samples > 0
    assert head.samples <= (8 - SETTLED_MARGIN_S + GAP_SEARCH_S) * SAMPLE_RATE
    said = normalise(head.text).split()
    first_words = " ".join(normalise(SAID.reference).split()[: len(said)])
    assert word_error_rate(first_words, head.text) < 0.1, head.text

    whole = heard(decode_file(SAID.path))
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
    assert word_error_rate(SAID.reference, final.text) == 0, final.text


def test_a_head_no_longer_wanted_stops_after_its_encoder_pass():
    local = LocalConfig()
    model, tok = realtime_model(local), tokenizer(local)
    so_far = mid_sentence()
    asked = []
    wanted = lambda: asked.append(True) or False  # noqa: E731
    config, gap_near = SessionConfig(), so_far.quietest_near()
    kept = decode_head(model, tok, so_far.audio(THRESHOLD), config, NO_HEAD, gap_near, 5, wanted)
    assert kept is NO_HEAD  # wanted, the same audio settles the first words (above)
    assert asked == [True]


@pytest.mark.asyncio
async def test_a_head_gives_way_to_the_final_when_its_speaker_pauses():
    """In lockstep a head's decode, asked for just before the room pauses, held a core that
    the finals waited for; and a head whose speaker paused is dropped with the utterance."""
    session = await LocalRealtimeEngine(LocalConfig()).open(SessionConfig())
    so_far = mid_sentence()
    audio, gap_near = so_far.audio(THRESHOLD), so_far.quietest_near()
    try:
        assert session._decode_head(audio, NO_HEAD, gap_near).text
        session.silent_samples = STALE_PARTIAL_PAUSE_MS * 16
        assert session._decode_head(audio, NO_HEAD, gap_near) is NO_HEAD
    finally:
        await session.close()


def test_the_gap_after_a_segment_is_the_quietest_frame_near_it():
    utterance = Utterance()
    scores = [0.99] * 60
    scores[20], scores[26] = 0.7, 0.4  # two dips between words
    for score in scores:
        utterance.add(np.zeros(FRAME, np.float32), score)
    gap_near = utterance.quietest_near()
    reach = int(GAP_SEARCH_S * SAMPLE_RATE) // FRAME
    assert gap_near(21 * FRAME) == 26 * FRAME + FRAME // 2  # the deeper dip, within reach
    assert gap_near((26 - reach - 2) * FRAME) == 20 * FRAME + FRAME // 2  # the deeper is not
