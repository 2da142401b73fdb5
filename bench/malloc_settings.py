"""Which malloc settings keep the web process small without slowing finals? (issue 12)

The soak benchmark saw the web process grow by hundreds of megabytes over half an hour, in
glibc's arenas (the cause was oneDNN's kernel cache: bench/decode_shapes.py). config/memory.py
sets malloc up at start; this measures
the choices on the engine's own work: two threads (the decode slots) each decoding every
shared/audio clip as a final (beam 5, the utterance plus 8 s) for ``--rounds`` rounds, in a fresh
process per setting (glibc reads MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_ at start, as
``mallopt`` does at the server's start; "trimmed" returns free pages after every round, as the
server does every minute). It prints, per setting, the decode time p50 / p95 and
the resident memory after the first round and at the end.

Usage: .venv/bin/python bench/malloc_settings.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.batched_decode import CORES, decode, load  # noqa: E402
from config.memory import release_free_memory  # noqa: E402
from tests.speech import clips  # noqa: E402

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"  # Debian's libjemalloc2
SETTINGS = {
    "glibc default": {},
    "2 arenas": {"MALLOC_ARENA_MAX": "2"},
    "2 arenas, trimmed": {"MALLOC_ARENA_MAX": "2", "TRIM": "1"},
    "2 arenas, mmap from 128 KiB": {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"},
    "2 arenas, mmap from 1 MiB": {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "1048576"},
    "2 arenas, mmap from 4 MiB": {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "4194304"},
    "2 arenas, mmap from 1 MiB, trim 64 MiB": {
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": "1048576",
        "MALLOC_TRIM_THRESHOLD_": "67108864",
    },
    "2 arenas, mmap from 4 MiB, trim 64 MiB": {
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": "4194304",
        "MALLOC_TRIM_THRESHOLD_": "67108864",
    },
    "jemalloc": {"LD_PRELOAD": JEMALLOC},
    "jemalloc, background purge": {
        "LD_PRELOAD": JEMALLOC,
        "MALLOC_CONF": "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0",
    },
}


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def in_fresh_process(script: str, args: list[str], env: dict[str, str]):
    """``script --child *args`` in a new process with ``env`` added: what it printed last (JSON).

    glibc and oneDNN read their settings once, at start or first use: each setting gets its own
    process.
    """
    command = [sys.executable, script, "--child", *args]
    output = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def child(rounds: int) -> None:
    corpus = []
    for speech in clips():
        pcm, _ = speech.pcm16()
        corpus.append(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768)
    model, tok = load(threads=1, workers=CORES)

    def timed(samples: np.ndarray) -> float:
        started = time.perf_counter()
        decode(model, tok, [samples])
        return time.perf_counter() - started

    times, memory = [], []
    with ThreadPoolExecutor(CORES) as pool:
        for _ in range(rounds):
            times += list(pool.map(timed, corpus))
            if os.environ.get("TRIM"):  # as the server's thread does every minute
                release_free_memory()
            memory.append(rss_mb())
    print(json.dumps({"times": times, "memory": memory}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.rounds)
        return
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'setting':40} {'p50':>6} {'p95':>6}  {'RSS first round':>15} {'RSS end':>8}")
    for name, env in SETTINGS.items():
        if "LD_PRELOAD" in env and not Path(env["LD_PRELOAD"]).exists():
            print(f"{name:40} (not installed)")
            continue
        result = in_fresh_process(__file__, ["--rounds", str(args.rounds)], env)
        p50, p95 = np.percentile(result["times"], [50, 95])
        first, last = result["memory"][0], result["memory"][-1]
        print(f"{name:40} {p50:6.3f} {p95:6.3f}  {first:12.0f} MB {last:5.0f} MB")


if __name__ == "__main__":
    main()
