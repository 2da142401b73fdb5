"""Does the speaker's recent text, as the prompt, help the live finals? By the numbers.

Streams every long-form programme (tests/programmes.py) through the local realtime engine in
this process, as fast as it takes the audio (it works on the audio clock), once per choice of
``LocalConfig.context_up_to_s``: no context, context for utterances up to 5 s, context for all.
Prints, for each: the pooled WER, the WER per programme, the coverage of the short utterances
(5 s or less, the ones context is meant to help), the worst 10 s of speech, the phrases
repeated more often than said and the highest compression ratio of a final (loops compress).

Usage:

    .venv/bin/python bench/context.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser_capture import machine  # noqa: E402
from bench.live_programme import pooled_wer  # noqa: E402
from tests.programme_scoring import (  # noqa: E402
    coverage,
    programme_wer,
    repeated_phrases,
    stream_finals,
    windowed_coverage,
)
from tests.programmes import programmes  # noqa: E402
from transcription.engines.local.decode import compression_ratio  # noqa: E402
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine  # noqa: E402
from transcription.engines.local.models import DecodeSlots  # noqa: E402

CHOICES = {"none": 0.0, "utterances up to 5 s": 5.0, "every utterance": 1e9}
SHORT_MS = 5000


def measure(label: str, context_up_to_s: float) -> None:
    engine = LocalRealtimeEngine(
        LocalConfig(threads=2, context_up_to_s=context_up_to_s), DecodeSlots()
    )
    pairs, short, windows, repeats, ratios, per_programme = [], [], [], 0, [], []
    for programme in programmes():
        finals = asyncio.run(stream_finals(programme, engine))
        pairs.append((programme, finals))
        shares = coverage(programme.utterances, finals)
        pairs_u = zip(programme.utterances, shares, strict=True)
        short += [share for u, share in pairs_u if u.end_ms - u.start_ms <= SHORT_MS]
        windows += windowed_coverage(programme.utterances, finals)
        repeats += len(repeated_phrases(programme.utterances, finals))
        ratios += [compression_ratio(f.text) for f in finals]
        wer = programme_wer(programme.utterances, finals) * 100
        per_programme.append(f"{programme.name} {wer:.1f}")
    print(f"context for {label}:")
    print(f"  WER {pooled_wer(pairs) * 100:.2f} % ({', '.join(per_programme)})")
    print(
        f"  short utterances ({len(short)}): coverage mean {np.mean(short):.3f}, "
        f"worst {min(short):.2f}; worst 10 s of speech {min(windows):.2f}"
    )
    print(f"  phrases repeated {repeats}, highest compression ratio {max(ratios):.2f}")


def main() -> None:
    print(machine())
    for label, seconds in CHOICES.items():
        measure(label, seconds)


if __name__ == "__main__":
    main()
