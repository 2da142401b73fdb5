"""The live decodes of growing utterances: what a participant sees while someone speaks."""

from __future__ import annotations

import pytest

from tests.speech import clips, normalise
from transcription.audio import decode_file
from transcription.engines.base import SessionConfig
from transcription.engines.local.decode import SAMPLE_RATE, decode_partial
from transcription.engines.local.models import LocalConfig, realtime_model, tokenizer

pytestmark = pytest.mark.usefixtures("whisper")

# Read speech runs at 2–3 words a second; a loop ("and so my, and so my, ...") runs far faster.
MAX_WORDS_PER_SECOND = 5


def test_partials_of_growing_speech_never_loop():
    """Every second of every clip decoded as a partial would be: no text runs ahead of the audio."""
    config, local = SessionConfig(), LocalConfig(threads=2)
    model, tok = realtime_model(local), tokenizer(local)
    for speech in clips():
        samples = decode_file(speech.path)
        for seconds in range(1, int(samples.size / SAMPLE_RATE) + 1):
            text = decode_partial(model, tok, samples[: seconds * SAMPLE_RATE], config).text
            words = len(normalise(text).split())
            assert words <= 2 + MAX_WORDS_PER_SECOND * seconds, (speech.name, seconds, text)
