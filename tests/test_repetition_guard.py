"""The repetition guard cuts Whisper's loops and leaves ordinary speech alone."""

from __future__ import annotations

from transcription.engines.local.decode import compression_ratio, remove_repetitions


def test_it_cuts_a_word_said_over_and_over():
    assert remove_repetitions("so so so so so so so we begin") == "so so so we begin"


def test_it_keeps_a_phrase_of_three_words_or_more_once():
    looped = "thank you for coming " * 8 + "goodbye"
    assert remove_repetitions(looped) == "thank you for coming goodbye"
    # the loop of issue 10, whatever its punctuation
    assert remove_repetitions("Good morning Katie, good morning Katie. Good morning Katie") == (
        "Good morning Katie,"
    )


def test_it_keeps_what_people_do_repeat():
    for said in ("No, no, no, not that one.", "Very good, very good.", "It was a long, long day."):
        assert remove_repetitions(said) == said


def test_it_keeps_ordinary_speech():
    text = "ask not what your country can do for you ask what you can do for your country"
    assert remove_repetitions(text) == text


def test_loops_compress_better_than_speech():
    said = "ask not what your country can do for you, ask what you can do for your country"
    assert compression_ratio(said) < 2.4 < compression_ratio("and so my " * 20)
