"""Batch transcription speed and accuracy of each local engine, on this machine.

Transcribes every shared/audio clip with whisper.cpp (the bundled model converted to ggml) and
with faster-whisper (``LocalBatchEngine``: beam 5, VAD, word timestamps), one clip after
another, and prints for each engine: the audio seconds, the wall seconds, the real-time factor
(wall / audio: below 1 is faster than real time) and the corpus WER. Loading the model is timed
apart, so the figures are for a warm server process.

Usage:

    .venv/bin/python bench/batch_rtf.py [--engines whispercpp,local] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Only the engines run here: no session or signature needs a real key.
os.environ.setdefault("SECRET_KEY", "bench-only-no-web")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from tests.speech import clips, corpus_word_error_rate  # noqa: E402
from transcription.audio import WHISPER_SAMPLE_RATE, decode_file  # noqa: E402
from transcription.engine_factory import batch_engine  # noqa: E402

ENGINES = {"whispercpp": "whisper.cpp", "local": "faster-whisper"}


@dataclass
class Run:
    engine: str
    load_seconds: float
    audio_seconds: float
    wall_seconds: float  # the best round
    wer: float

    @property
    def real_time_factor(self) -> float:
        return self.wall_seconds / self.audio_seconds


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench(name: str, audio: list[np.ndarray], references: list[str], rounds: int) -> Run:
    engine = batch_engine(name)
    started = time.perf_counter()
    engine.transcribe(audio[0][:WHISPER_SAMPLE_RATE])  # loads (and converts) the model
    load_seconds = time.perf_counter() - started

    best = float("inf")
    texts: list[str] = []
    for _ in range(rounds):
        started = time.perf_counter()
        texts = [engine.transcribe(samples, language="en").text for samples in audio]
        best = min(best, time.perf_counter() - started)
    seconds = sum(samples.size for samples in audio) / WHISPER_SAMPLE_RATE
    wer = corpus_word_error_rate(list(zip(references, texts, strict=True)))
    return Run(name, load_seconds, seconds, best, wer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="the best round counts")
    args = parser.parse_args()

    spoken = clips()
    audio = [decode_file(c.path) for c in spoken]
    references = [c.reference for c in spoken]
    threads = {
        "whispercpp": settings.WHISPER_CPP_THREADS,
        "local": settings.LOCAL_WHISPER_THREADS,
    }

    print(f"{platform.node()} · {cpu_name()} · {os.cpu_count()} cores")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} · Python {platform.python_version()}")
    print(
        f"{len(spoken)} clips from {spoken[0].path.parent}, "
        f"{sum(a.size for a in audio) / WHISPER_SAMPLE_RATE:.1f} s of speech, "
        f"one at a time, best of {args.rounds} rounds\n"
    )
    header = (
        f"{'engine':<16}{'threads':>8}{'load s':>9}{'audio s':>9}{'wall s':>9}{'RTF':>8}{'WER':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in args.engines.split(","):
        run = bench(name.strip(), audio, references, args.rounds)
        print(
            f"{ENGINES.get(run.engine, run.engine):<16}{threads.get(run.engine, '?'):>8}"
            f"{run.load_seconds:>9.2f}{run.audio_seconds:>9.1f}{run.wall_seconds:>9.2f}"
            f"{run.real_time_factor:>8.3f}{run.wer:>8.1%}"
        )


if __name__ == "__main__":
    main()
