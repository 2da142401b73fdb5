"""The long-form programmes meet their conditions, measured from their samples, and the scoring
helpers count what they say they count."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from .programme_scoring import (
    Final,
    Repeat,
    coverage,
    programme_wer,
    repeated_phrases,
    worst_utterance,
)
from .programmes import (
    PAD_MS,
    Programme,
    Utterance,
    boundary_pauses_ms,
    longest_pause_ms,
    programmes,
    read,
    runs,
    speech_level_db,
    stretches,
    utterance_levels_db,
    write,
)
from .speech import clip


@pytest.fixture(scope="module")
def built() -> dict[str, Programme]:
    return {p.name: p for p in programmes()}


def gaps_ms(programme: Programme) -> list[int]:
    return [b.start_ms - a.end_ms for a, b in itertools.pairwise(programme.utterances)]


def mean_level(programme: Programme, keep: Callable[[Utterance], bool]) -> float:
    pairs = zip(programme.utterances, utterance_levels_db(programme), strict=True)
    return float(np.mean([level for u, level in pairs if keep(u)]))


def source(name: str) -> np.ndarray:
    pcm, _ = clip(name).pcm16()
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def best_match(part: np.ndarray, whole: np.ndarray) -> float:
    """Correlation of `part` with the stretch of `whole` it lines up with best."""
    size = 1 << (len(part) + len(whole)).bit_length()
    lags = np.fft.irfft(np.fft.rfft(whole, size) * np.conj(np.fft.rfft(part, size)), size)
    offset = int(np.argmax(lags[: len(whole) - len(part) + 1]))
    return float(np.corrcoef(part, whole[offset : offset + len(part)])[0, 1])


def test_it_measures_the_level_while_speaking():
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)  # -23 dBFS
    with_pauses = np.concatenate([tone, np.zeros(16000), tone])
    assert speech_level_db(with_pauses) == pytest.approx(-23.0, abs=0.05)


def test_it_finds_stretches():
    mask = np.array([1, 1, 0, 0, 0, 1, 0, 1], dtype=bool)
    assert stretches(mask) == [(0, 2), (5, 6), (7, 8)]
    assert stretches(~mask) == [(2, 5), (6, 7)]


def test_it_keeps_every_programme_between_60_and_180_s(built):
    assert set(built) == {"pauses", "run", "level_down", "level_up", "dialogue", "far", "noise"}
    for programme in built.values():
        assert 60_000 <= programme.duration_ms <= 180_000, programme.name
        assert programme.samples.dtype == np.float32


def test_it_keeps_the_clips_references_in_order(built):
    for programme in built.values():
        names = [u.clip for u in programme.utterances]
        assert len(set(names)) == len(names), programme.name
        assert programme.reference == " ".join(clip(name).reference for name in names)
        starts = [u.start_ms for u in programme.utterances]
        assert starts == sorted(starts)
    assert len(built["pauses"].utterances) == 13


@pytest.mark.parametrize("name", ["pauses", "level_down", "level_up", "dialogue", "far"])
def test_it_places_each_clip_where_the_manifest_says(built, name):
    programme = built[name]
    for u in programme.utterances:
        span = programme.samples[u.start_ms * 16 : u.end_ms * 16].astype(np.float64)
        # 1 less a little for rounding and, in level_up, the clipped peaks
        assert best_match(span, source(u.clip)) > 0.99, u.clip


def test_it_spreads_the_pauses_from_0_15_to_3_s(built):
    programme = built["pauses"]
    gaps = gaps_ms(programme)
    assert all(150 <= gap <= 3000 for gap in gaps)
    assert min(gaps) <= 200 and max(gaps) >= 2800
    # both pauses an end-of-speech rule of 0.5 s misses and ones it cannot miss
    assert sum(gap < 500 for gap in gaps) >= 3 and sum(gap >= 1000 for gap in gaps) >= 3
    # Measured from the samples, a pause is the gap, less the pads of a clip whose noise
    # floor is louder than the pause threshold (LibriSpeech 61).
    for gap, measured in zip(gaps, boundary_pauses_ms(programme), strict=True):
        assert gap - 2 * PAD_MS <= measured <= gap


def test_it_makes_runs_without_a_pause_over_250_ms(built):
    programme = built["run"]
    found = [group for group in runs(programme.utterances, 250) if len(group) > 1]
    assert len(found) == 2
    for group in found:
        start, end = group[0].start_ms, group[-1].end_ms
        assert end - start >= 35_000
        assert longest_pause_ms(programme, start, end) <= 250
    assert found[1][0].start_ms - found[0][-1].end_ms >= 1000


@pytest.mark.parametrize(("name", "change_db"), [("level_down", -20.0), ("level_up", 10.0)])
def test_it_changes_the_level_partway(built, name, change_db):
    programme = built[name]
    changed = [u.gain_db == change_db for u in programme.utterances]
    assert changed == sorted(changed) and any(changed) and not all(changed)
    first_changed = programme.utterances[changed.index(True)]
    assert 0.35 <= first_changed.start_ms / programme.duration_ms <= 0.65

    before = mean_level(programme, lambda u: u.gain_db == 0)
    after = mean_level(programme, lambda u: u.gain_db == change_db)
    assert after - before == pytest.approx(change_db, abs=1.0)
    # the same reader on both sides of the change, as when someone moves to another room
    previous = programme.utterances[changed.index(True) - 1]
    assert previous.speaker == first_changed.speaker


def test_it_clips_the_louder_half_at_full_scale(built):
    samples = built["level_up"].samples
    assert samples.max() == 32767 / 32768 and samples.min() == -1.0


def test_it_has_two_voices_taking_turns_with_0_3_s_gaps(built):
    programme = built["dialogue"]
    speakers = [u.speaker for u in programme.utterances]
    assert len(set(speakers)) == 2
    assert all(a != b for a, b in itertools.pairwise(speakers))
    assert gaps_ms(programme) == [300] * (len(speakers) - 1)
    assert boundary_pauses_ms(programme) == [300] * (len(speakers) - 1)


def test_it_puts_the_far_voice_25_db_under_the_near_one(built):
    programme, dialogue = built["far"], built["dialogue"]
    near, far = (u.speaker for u in dialogue.utterances[:2])
    # the dialogue itself, the far voice turned down
    assert programme.utterances == [
        replace(u, gain_db=-25.0 if u.speaker == far else 0.0) for u in dialogue.utterances
    ]
    near_db = mean_level(programme, lambda u: u.speaker == near)
    far_db = mean_level(programme, lambda u: u.speaker == far)
    assert far_db - near_db == pytest.approx(-25.0, abs=1.0)


def test_it_adds_room_noise_at_10_db_snr(built):
    noisy, clean = built["noise"], built["pauses"]
    assert noisy.utterances == clean.utterances
    noise = noisy.samples.astype(np.float64) - clean.samples
    noise_db = 10 * np.log10(np.mean(noise**2))
    speaking_db = mean_level(clean, lambda u: True)
    assert speaking_db - noise_db == pytest.approx(10.0, abs=1.0)

    # steady: the pauses hold the same noise as the rest
    speech = np.zeros(len(noise), dtype=bool)
    for u in noisy.utterances:
        speech[u.start_ms * 16 : u.end_ms * 16] = True
    in_pauses_db = 10 * np.log10(np.mean(noisy.samples[~speech].astype(np.float64) ** 2))
    assert in_pauses_db == pytest.approx(noise_db, abs=1.0)

    # pink, not white: an octave high up holds about the power of an octave low down
    power = np.abs(np.fft.rfft(noise)) ** 2
    hz = np.fft.rfftfreq(len(noise), 1 / 16000)
    low, high = (power[(hz >= f) & (hz < 2 * f)].sum() for f in (250, 2000))
    assert 10 * np.log10(high / low) == pytest.approx(0.0, abs=3.0)


def test_it_writes_the_same_bytes_every_time(built, tmp_path: Path):
    for programme in built.values():
        write(programme, tmp_path / "first")
    for programme in programmes():
        write(programme, tmp_path / "second")
    files = sorted(p.name for p in (tmp_path / "first").iterdir())
    assert len(files) == 3 * len(built)
    for name in files:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()

    again = read(tmp_path / "first", "far")
    assert again.utterances == built["far"].utterances
    assert np.array_equal(again.samples, built["far"].samples)
    assert (tmp_path / "first" / "far.txt").read_text() == built["far"].reference + "\n"


# Scoring finals

SAID = [
    Utterance("a", "host", 1000, 3000, "Good morning, Katie.", 0.0),
    Utterance("b", "guest", 3300, 6000, "The weather is lovely today", 0.0),
    Utterance("c", "host", 8000, 10000, "Shall we begin the meeting?", 0.0),
]


def finals_for(utterances: list[Utterance]) -> list[Final]:
    return [Final(u.reference, u.start_ms, u.end_ms) for u in utterances]


def test_it_scores_perfect_finals_as_perfect():
    finals = finals_for(SAID)
    assert programme_wer(SAID, finals) == 0.0
    assert coverage(SAID, finals) == [1.0, 1.0, 1.0]
    assert repeated_phrases(SAID, finals) == []


def test_it_finds_a_dropped_utterance():
    finals = finals_for([SAID[0], SAID[2]])
    assert coverage(SAID, finals) == [1.0, 0.0, 1.0]
    assert worst_utterance(SAID, finals) == (SAID[1], 0.0)
    assert programme_wer(SAID, finals) == pytest.approx(5 / 13)


def test_it_allows_a_second_of_slack_in_time():
    late = [Final(SAID[2].reference, 10_900, 11_500)]
    assert coverage(SAID[2:], late) == [1.0]
    too_late = [Final(SAID[2].reference, 11_100, 11_500)]
    assert coverage(SAID[2:], too_late) == [0.0]


def test_it_counts_half_an_utterance_as_half():
    finals = [Final("the weather is", 3300, 4500)]
    assert coverage(SAID[1:2], finals) == [0.6]


def test_it_finds_a_repeated_phrase():
    said = [Utterance("x", "host", 0, 1000, "a b c", 0.0)]
    assert repeated_phrases(said, [Final("a b c a b c", 0, 1000)]) == [Repeat("a b c", 2, 1)]

    looped = [Final("Good morning Katie Good morning Katie Good morning Katie", 1000, 3000)]
    found = repeated_phrases(SAID, looped + finals_for(SAID[1:]))
    assert found[0] == Repeat("good morning katie", 3, 1)


def test_it_allows_what_the_reference_repeats():
    said = [
        Utterance("x", "host", 0, 2000, "He could wait no longer", 0.0),
        Utterance("y", "host", 3000, 6000, "But he could wait no longer", 0.0),
    ]
    assert repeated_phrases(said, finals_for(said)) == []
