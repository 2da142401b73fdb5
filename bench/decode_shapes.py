"""What fills a process that decodes live windows of ever-new lengths? (issue 12's soak)

A live window is the utterance so far plus padding, so nearly every decode has a length, and so
matrix shapes, of its own. This decodes ``--decodes`` partials of random lengths (0.5-11 s of a
shared/audio clip) on one thread, in a fresh process per setting, and prints after every
hundred: the bytes malloc has handed out and not had back (``mallinfo2``), the resident size
(after ``malloc_trim``, as the server does every minute), and the time so far. The settings:
oneDNN's kernel cache as oneDNN ships it (1024 kernels), smaller, off (what the engine does),
and, with the cache on, window lengths rounded up to steps, which bounds the shapes instead.

Usage: .venv/bin/python bench/decode_shapes.py [--decodes 400]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = {
    "oneDNN's default cache (1024 kernels)": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024"},
    "cache of 256 kernels": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "256"},
    "cache off (the engine's setting)": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"},
    "cache on, windows in 0.5 s steps": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "STEP": "50"},
    "cache on, windows in 1 s steps": {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "STEP": "100"},
}
MALLINFO2 = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2.split()]


def in_use_mb(libc: ctypes.CDLL) -> float:
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def round_windows_up(frames_step: int) -> None:
    """Make the engine's windows a whole number of steps long (only for this measure)."""
    import ctranslate2

    from transcription.engines import whisper_decode

    def encode_window(model, samples):
        seconds = samples.size / whisper_decode.SAMPLE_RATE + whisper_decode.WINDOW_PADDING_S
        frames = min(3000, -(-int(np.ceil(seconds * 100)) // frames_step) * frames_step)
        features = model.feature_extractor(samples)[:, :frames]
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32))

    whisper_decode.encode_window = encode_window


def child(decodes: int) -> None:
    from config.memory import configure_malloc, release_free_memory

    configure_malloc()  # as the server does at start
    from tests.speech import clips
    from transcription.engines import whisper_decode
    from transcription.engines.base import SessionConfig
    from transcription.engines.local_models import LocalConfig, realtime_model, tokenizer

    if os.environ.get("STEP"):
        round_windows_up(int(os.environ["STEP"]))
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    model, tok = realtime_model(LocalConfig()), tokenizer(LocalConfig())
    speech = np.frombuffer(clips()[0].pcm16()[0], "<i2").astype(np.float32) / 32768
    lengths = np.random.default_rng(1).uniform(0.5, 11.0, decodes)
    rows, started = [], time.perf_counter()
    for done, seconds in enumerate(lengths, 1):
        whisper_decode.decode_partial(model, tok, speech[: int(seconds * 16000)], SessionConfig())
        if done % 100 == 0:
            release_free_memory()
            rows.append((done, in_use_mb(libc), rss_mb(), time.perf_counter() - started))
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decodes", type=int, default=400)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.decodes)
        return
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'setting':40} {'decodes':>7} {'in use':>8} {'resident':>9} {'time':>7}")
    for name, env in SETTINGS.items():
        command = [sys.executable, __file__, "--child", "--decodes", str(args.decodes)]
        output = subprocess.run(
            command, env={**os.environ, **env}, capture_output=True, text=True, check=True
        ).stdout
        for done, in_use, resident, seconds in json.loads(output.strip().splitlines()[-1]):
            print(f"{name:40} {done:7d} {in_use:5.0f} MB {resident:6.0f} MB {seconds:6.1f} s")
            name = ""


if __name__ == "__main__":
    main()
