"""What a final's beam costs and buys: the choice of the beam for finals that are due together.

Two measurements, each beam in turn:

* every shared/audio clip decoded as a live final (utterance plus 8 s of silence, timestamps,
  seeks) on one thread, as a decode slot does: seconds per final (best of two rounds) and WER;
* the long-form programmes (tests/programmes.py) streamed through the local realtime engine in
  this process, every final decoded with that beam: pooled WER and WER per programme.

Usage:

    .venv/bin/python bench/final_beam.py [--beams 5,3,2,1] [--no-programmes]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser_capture import machine  # noqa: E402
from bench.live_programme import pooled_wer  # noqa: E402
from tests.programme_scoring import programme_wer, stream_finals  # noqa: E402
from tests.programmes import programmes  # noqa: E402
from tests.speech import clips, corpus_word_error_rate  # noqa: E402
from transcription.audio import decode_file  # noqa: E402
from transcription.engines.base import SessionConfig  # noqa: E402
from transcription.engines.local.decode import decode_final  # noqa: E402
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine  # noqa: E402
from transcription.engines.local.models import DecodeSlots, realtime_model, tokenizer  # noqa: E402


def clip_finals(beam: int) -> None:
    local = LocalConfig(threads=1)
    model, tok = realtime_model(local), tokenizer(local)
    audio = [(c.reference, decode_file(c.path)) for c in clips()]
    decode_final(model, tok, audio[0][1], SessionConfig(), beam=beam)  # warm-up
    best, pairs = float("inf"), []
    for _ in range(2):
        started, pairs = time.perf_counter(), []
        for reference, samples in audio:
            pairs.append(
                (reference, decode_final(model, tok, samples, SessionConfig(), beam=beam).text)
            )
        best = min(best, time.perf_counter() - started)
    wer = corpus_word_error_rate(pairs) * 100
    print(f"beam {beam}: {best / len(audio):.3f} s per final on one thread, clips WER {wer:.2f} %")


def programme_finals(beam: int) -> None:
    slots = DecodeSlots()
    slots.final_beam = lambda priority=0: beam  # every final of the engine, crowded or not
    engine = LocalRealtimeEngine(LocalConfig(threads=2), slots)
    pairs, per_programme = [], []
    for programme in programmes():
        finals = asyncio.run(stream_finals(programme, engine))
        pairs.append((programme, finals))
        per_programme.append(
            f"{programme.name} {programme_wer(programme.utterances, finals) * 100:.1f}"
        )
    print(
        f"beam {beam}: programmes WER {pooled_wer(pairs) * 100:.2f} % ({', '.join(per_programme)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--beams", default="5,3,2,1")
    parser.add_argument("--no-programmes", action="store_true")
    args = parser.parse_args()
    beams = [int(b) for b in args.beams.split(",")]
    print(f"{machine()} · {time.strftime('%Y-%m-%d %H:%M')}")
    for beam in beams:
        clip_finals(beam)
    if not args.no_programmes:
        for beam in beams:
            programme_finals(beam)


if __name__ == "__main__":
    main()
