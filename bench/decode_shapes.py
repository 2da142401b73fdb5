"""What fills a process that decodes live windows of ever-new lengths? (issue 12's soak)

A live window is the utterance so far plus padding, so nearly every decode has a length, and so
matrix shapes, of its own. This decodes ``--decodes`` partials of random lengths (0.5-11 s of a
shared/audio clip) on one thread, in a fresh process per setting, and prints after every
``--every``: the bytes malloc has handed out and not had back, the resident size (after
``malloc_trim``, as the server does every minute), and the time so far. The settings: oneDNN's
kernel cache as oneDNN ships it (1024 kernels), smaller, off (what the engine does), and, with
the cache on, window lengths rounded up to steps, which bounds the shapes instead.
tests/live/test_decode_memory.py runs its child too.

Usage: .venv/bin/python bench/decode_shapes.py [--decodes 400] [--every 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.malloc_settings import in_fresh_process, rss_mb  # noqa: E402

SETTINGS = {
    "oneDNN's default cache (1024 kernels)": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024"},
    "cache of 256 kernels": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "256"},
    "cache off (the engine's setting)": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"},
    "cache on, windows in 0.5 s steps": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "STEP": "0.5"},
    "cache on, windows in 1 s steps": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "STEP": "1"},
}


def round_windows_up(step_s: float) -> None:
    """Make the engine's windows a whole number of steps long (only for this measure): the
    audio gets the silence that takes its window to the next step."""
    from transcription.engines.local import decode as whisper_decode

    encode_window, rate = whisper_decode.encode_window, whisper_decode.SAMPLE_RATE

    def rounded(model, samples: np.ndarray):
        seconds = samples.size / rate + whisper_decode.WINDOW_PADDING_S
        silence = int((np.ceil(seconds / step_s) * step_s - seconds) * rate)
        return encode_window(model, np.pad(samples, (0, silence)))

    whisper_decode.encode_window = rounded


def child(decodes: int, every: int) -> None:
    from config.memory import configure_malloc, malloc_in_use_mb, release_free_memory

    configure_malloc()  # as the server does at start
    from tests.speech import clips
    from transcription.engines.base import SessionConfig
    from transcription.engines.local import decode as whisper_decode
    from transcription.engines.local.models import LocalConfig, realtime_model, tokenizer

    if os.environ.get("STEP"):
        round_windows_up(float(os.environ["STEP"]))
    model, tok = realtime_model(LocalConfig()), tokenizer(LocalConfig())
    speech = np.frombuffer(clips()[0].pcm16()[0], "<i2").astype(np.float32) / 32768
    lengths = np.random.default_rng(1).uniform(0.5, 11.0, decodes)
    rows, started = [], time.perf_counter()
    for done, seconds in enumerate(lengths, 1):
        whisper_decode.decode_partial(model, tok, speech[: int(seconds * 16000)], SessionConfig())
        if done % every == 0:
            in_use = malloc_in_use_mb()
            release_free_memory()
            rows.append((done, in_use, rss_mb(), time.perf_counter() - started))
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decodes", type=int, default=400)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.decodes, args.every)
        return
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'setting':40} {'decodes':>7} {'in use':>8} {'resident':>9} {'time':>7}")
    for name, env in SETTINGS.items():
        rows = in_fresh_process(
            __file__, ["--decodes", str(args.decodes), "--every", str(args.every)], env
        )
        for done, in_use, resident, seconds in rows:
            print(f"{name:40} {done:7d} {in_use:5.0f} MB {resident:6.0f} MB {seconds:6.1f} s")
            name = ""


if __name__ == "__main__":
    main()
