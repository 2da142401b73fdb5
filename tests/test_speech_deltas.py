"""Revisable hypotheses become append-only deltas: words go out once stable, never twice."""

from __future__ import annotations

import pytest

from transcription.speech_server.deltas import DeltaStream, agreed, resume_at


def feed(stream: DeltaStream, hypotheses: list[str], final: str | None = None) -> list[str]:
    """The deltas after each hypothesis (and the final), one list per step."""
    steps = [stream.hypothesis(text) for text in hypotheses]
    if final is not None:
        steps.append(stream.settled(final))
    return steps


def test_it_sends_what_two_hypotheses_agree_on():
    steps = feed(
        DeltaStream(),
        ["He", "He began a", "He began a confused", "He began a confused complaint"],
        "He began a confused complaint, against the wizard.",
    )
    assert steps == [
        [],
        ["He"],
        [" began", " a"],
        [" confused"],
        [" complaint,", " against", " the", " wizard."],
    ]
    streamed = "".join(d for step in steps for d in step)
    assert streamed == "He began a confused complaint, against the wizard."


def test_it_compares_words_without_case_or_punctuation():
    assert agreed([["Hello.", "There"], ["hello,", "there", "friend"]]) == ["hello,", "there"]


def test_a_revised_word_is_never_taken_back():
    stream = DeltaStream()
    sent = feed(stream, ["The cat", "The cat sat", "The cat sat"])
    # the final hears a word more: what follows the sent words is lined up after them
    sent.append(stream.settled("The black cat sat on the mat."))
    assert "".join(d for step in sent for d in step) == "The cat sat on the mat."


def test_the_final_replaces_one_for_one_what_it_contradicts():
    assert resume_at(["a", "b", "c", "d"], ["a", "b", "x", "d", "e"]) == 4
    assert resume_at(["wor"], ["world", "is", "here"]) == 1
    assert resume_at([], ["any"]) == 0


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        # fast, and "Hel" stays wrong until completed says otherwise
        ("minimal", [["Hel"], [" world"], [" again"], [], []]),
        ("low", [[], ["Hello"], [" world"], [], [" again."]]),  # all but the newest word
        ("medium", [[], [], ["Hello", " world"], [" again"], []]),
        ("high", [[], [], [], ["Hello", " world"], [" again."]]),
        ("xhigh", [[], [], [], [], ["Hello", " world", " again."]]),  # finals only
    ],
)
def test_delay_sets_how_stable_a_word_must_be(delay, expected):
    hypotheses = ["Hel", "Hello world", "Hello world again", "Hello world again"]
    assert feed(DeltaStream(delay), hypotheses, "Hello world again.") == expected
