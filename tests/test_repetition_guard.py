"""The repetition guard cuts Whisper's loops and leaves ordinary speech alone."""

from __future__ import annotations

from transcription.engines.local import remove_repetitions


def test_it_cuts_a_word_said_over_and_over():
    assert remove_repetitions("so so so so so so so we begin") == "so so so we begin"


def test_it_cuts_a_repeated_phrase():
    looped = "thank you for coming " * 8 + "goodbye"
    assert remove_repetitions(looped) == ("thank you for coming " * 3 + "goodbye")


def test_it_keeps_ordinary_speech():
    text = "ask not what your country can do for you ask what you can do for your country"
    assert remove_repetitions(text) == text
