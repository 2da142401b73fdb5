"""Write the long-form test programmes and show that each one meets its condition.

Builds the programmes of ``tests/programmes.py`` from the shared/audio clips and writes, for
each, ``<name>.wav`` (16 kHz mono PCM16), ``<name>.txt`` (the reference, one line) and
``<name>.json`` (where each clip sits). Then prints, measured from the samples: the duration,
the seconds of speech, the utterances, the longest pause between the first and last word, and
the figures of the programme's own condition (pauses, runs, levels, SNR).

The output is the same, byte for byte, on every run.

Usage:

    .venv/bin/python bench/programme.py [--out var/programmes] [--only NAME]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.programmes import (  # noqa: E402
    BUILDERS,
    MAX_RUN_PAUSE_MS,
    Programme,
    boundary_pauses_ms,
    longest_pause_ms,
    pauses,
    runs,
    utterance_levels_db,
    write,
)

END_OF_SPEECH_MS = 500  # the live path's rule: a pause this long ends an utterance


def _db(power: float) -> float:
    return 10 * np.log10(max(power, 1e-12))


def _mean_level(programme: Programme, gain_db: float) -> float:
    """The mean measured speech level of the utterances placed at gain_db."""
    levels = utterance_levels_db(programme)
    pairs = zip(programme.utterances, levels, strict=True)
    return float(np.mean([level for u, level in pairs if u.gain_db == gain_db]))


def pause_figures(programme: Programme) -> str:
    measured = boundary_pauses_ms(programme)
    short = sum(1 for p in measured if p < END_OF_SPEECH_MS)
    return (
        f"pauses between utterances {min(measured) / 1000:.2f}-{max(measured) / 1000:.2f} s, "
        f"{short} of {len(measured)} shorter than the {END_OF_SPEECH_MS} ms end-of-speech rule"
    )


def run_figures(programme: Programme) -> str:
    found = [group for group in runs(programme.utterances) if len(group) > 1]
    return "; ".join(
        f"run of {len(group)} clips {(group[-1].end_ms - group[0].start_ms) / 1000:.1f} s, "
        f"longest pause {longest_pause_ms(programme, group[0].start_ms, group[-1].end_ms)} ms "
        f"(bound {MAX_RUN_PAUSE_MS})"
        for group in found
    )


def level_figures(programme: Programme) -> str:
    changed = next(u for u in programme.utterances if u.gain_db != 0)
    before, after = _mean_level(programme, 0.0), _mean_level(programme, changed.gain_db)
    tail = programme.samples[changed.start_ms * 16 :]
    clipped = np.mean(np.abs(tail) >= 32767 / 32768) * 100
    return (
        f"speech {before:.1f} dBFS, then from {changed.start_ms / 1000:.1f} s {after:.1f} dBFS: "
        f"{after - before:+.1f} dB; {clipped:.2f} % of the samples after the change clipped"
    )


def dialogue_figures(programme: Programme) -> str:
    voices = {u.speaker: u.gain_db for u in programme.utterances}
    turns = sum(1 for a, b in itertools.pairwise(programme.utterances) if a.speaker != b.speaker)
    levels = ", ".join(
        f"{name} {_mean_level(programme, gain):.1f} dBFS" for name, gain in voices.items()
    )
    measured = boundary_pauses_ms(programme)
    return (
        f"{len(voices)} voices, {turns} changes of voice, gaps {min(measured)}-{max(measured)} ms; "
        + levels
    )


def noise_figures(programme: Programme) -> str:
    # The noise programme is the pauses programme plus noise: the difference is the noise.
    clean = pauses()
    noise = programme.samples.astype(np.float64) - clean.samples
    speech = _mean_level(clean, 0.0)
    noise_db = _db(np.mean(noise**2))
    spans = np.zeros(len(noise), dtype=bool)
    for u in clean.utterances:
        spans[u.start_ms * 16 : u.end_ms * 16] = True
    in_pauses = _db(np.mean(programme.samples[~spans].astype(np.float64) ** 2))
    return (
        f"speech {speech:.1f} dBFS while speaking, noise {noise_db:.1f} dBFS "
        f"({in_pauses:.1f} in the pauses): SNR {speech - noise_db:.1f} dB"
    )


FIGURES: dict[str, Callable[[Programme], str]] = {
    "pauses": pause_figures,
    "run": run_figures,
    "level_down": level_figures,
    "level_up": level_figures,
    "dialogue": dialogue_figures,
    "far": dialogue_figures,
    "noise": noise_figures,
}


def summary(programme: Programme) -> str:
    speech_ms = sum(u.end_ms - u.start_ms for u in programme.utterances)
    first, last = programme.utterances[0].start_ms, programme.utterances[-1].end_ms
    # noise fills every pause: its pauses are those of the clean programme beneath it
    measured = pauses() if programme.name == "noise" else programme
    longest = longest_pause_ms(measured, first, last)
    return (
        f"{programme.name:<11}{programme.duration_ms / 1000:6.1f} s  "
        f"speech {speech_ms / 1000:5.1f} s  {len(programme.utterances):2} utterances  "
        f"longest pause {longest / 1000:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "programmes")
    parser.add_argument("--only", choices=sorted(BUILDERS), help="write this programme only")
    args = parser.parse_args()

    names = [args.only] if args.only else list(BUILDERS)
    for name in names:
        programme = BUILDERS[name]()
        path = write(programme, args.out)
        print(summary(programme))
        print(f"{'':11}condition: {programme.condition}")
        print(f"{'':11}measured:  {FIGURES[name](programme)}")
        print(f"{'':11}written:   {path} (.txt, .json)")


if __name__ == "__main__":
    main()
