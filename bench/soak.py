"""A long meeting on one machine: does anything grow or slow down over the hours?

Four speakers (by default) talk for ``--minutes`` in one room, each looping the shared/audio
clips in real time from another clip, with 1.5 s pauses; fifty listeners are in the room too.
Every ``--every`` seconds it samples the resident memory of the service's processes (the web
process, the job worker, Redis) and the web process' ``/metrics`` (local decode queue,
connections). It prints, per window of ``--window`` minutes: finals, end of speech → final p50 /
p95, the largest decode queue seen, each process' memory; then memory growth after warm-up (the
first window) and latency of the first against the last window, and the WER of all finals.

Usage (with the server running, e.g. ./scripts/serve.sh, and this checkout's settings):

    .venv/bin/python bench/soak.py --minutes 60 --speakers 4 --listeners 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live import (  # noqa: E402
    GAP_SECONDS,
    ClipTiming,
    Listening,
    percentile,
    set_up_room,
    speak_clips,
    speech_bounds,
)
from tests.servers import listening_pid  # noqa: E402
from tests.speech import clips, corpus_word_error_rate  # noqa: E402

PROCESSES = ("web", "worker", "redis")


@dataclass
class Sample:
    at: float
    rss_mb: dict[str, float]
    decode_queue: float
    connections: float


@dataclass
class Soak:
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    listener_finals: list[int] = field(default_factory=list)
    #: item_id → when each listener received its final (time.monotonic())
    arrivals: dict[str, list[float]] = field(default_factory=dict)


def service_pids(url: str) -> dict[str, int]:
    """The web process serving ``url``, the job worker started with it, and Redis.

    Found by port and parent, not by name: test servers on the same machine look alike.
    """
    web = listening_pid(urllib.parse.urlsplit(url).port or 80)
    parent = Path(f"/proc/{web}/stat").read_text().rsplit(")", 1)[1].split()[1]
    siblings = subprocess.run(["pgrep", "-P", parent], capture_output=True, text=True).stdout
    worker = next(
        int(pid)
        for pid in siblings.split()
        if b"transcription_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    return {"web": web, "worker": worker, "redis": listening_pid(6379)}


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:") / 1024


def metric(text: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    return values[0] if values else float("nan")


async def sample_forever(url: str, soak: Soak, every: float) -> None:
    pids = service_pids(url)
    while True:
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(url + "/metrics").read())
        text = text.decode()
        memory = {name: rss_mb(pid) for name, pid in pids.items()}
        soak.samples.append(
            Sample(
                time.monotonic() - soak.started,
                memory,
                metric(text, "captions_decode_queue"),
                metric(text, "captions_connections"),
            )
        )
        await asyncio.sleep(every)


async def listen(url: str, slug: str, token: str, soak: Soak, stop: asyncio.Event) -> None:
    """A listener: counts the finals it receives until the speakers are done."""
    ws_url = url.replace("http", "ws", 1) + f"/ws/meetings/{slug}/?token={token}"
    finals, pinged = 0, time.monotonic()
    async with websockets.connect(ws_url, max_size=2**22) as ws:
        while not stop.is_set():
            if time.monotonic() - pinged > 20:  # as the room page does, or it counts as idle
                await ws.send(json.dumps({"type": "ping"}))
                pinged = time.monotonic()
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            event = json.loads(raw)
            if event["type"] == "caption.final":
                finals += 1
                soak.arrivals.setdefault(event["item_id"], []).append(time.monotonic())
    soak.listener_finals.append(finals)


async def run(url: str, speakers: int, listeners: int, minutes: float, every: float) -> tuple:
    corpus = [ClipTiming(c, *speech_bounds(c)) for c in clips()]
    cycle_s = sum(len(t.pcm) / 32000 + GAP_SECONDS for t in corpus)
    cycles = max(1, round(minutes * 60 / cycle_s))
    slug, tokens = set_up_room(speakers + listeners)
    soak, stop = Soak(), asyncio.Event()
    sampler = asyncio.create_task(sample_forever(url, soak, every))
    listening = [
        asyncio.create_task(listen(url, slug, token, soak, stop)) for token in tokens[speakers:]
    ]
    await asyncio.sleep(2)  # everyone in the room before the first word
    orders = [(corpus[i:] + corpus[:i]) * cycles for i in range(speakers)]
    runs = await asyncio.gather(
        *(speak_clips(url, slug, t, order) for t, order in zip(tokens, orders, strict=False))
    )
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*listening)
    sampler.cancel()
    return soak, runs


def report(soak: Soak, runs: list[Listening], window_min: float) -> None:
    finals = []  # (seconds since the start when the clip started, latency)
    pairs = []
    for listening in runs:
        for index, result in enumerate(listening.finish()):
            pairs.append((listening.timings[index].clip.reference, result.text))
            if result.final_latency is not None:
                finals.append((listening.wall_start[index] - soak.started, result.final_latency))
    window_s = window_min * 60
    windows = int(max(at for at, _ in finals) // window_s) + 1 if finals else 0
    names = list(PROCESSES)
    print(
        f"{'window':>10} {'finals':>6} {'p50':>6} {'p95':>6} {'queue':>5}  "
        + "  ".join(f"{name + ' MB':>10}" for name in names)
    )
    rows = []
    for w in range(windows):
        lo, hi = w * window_s, (w + 1) * window_s
        latencies = [lat for at, lat in finals if lo <= at < hi]
        samples = [s for s in soak.samples if lo <= s.at < hi]
        memory = {n: max((s.rss_mb[n] for s in samples), default=float("nan")) for n in names}
        queue = max((s.decode_queue for s in samples), default=float("nan"))
        rows.append((latencies, memory))
        print(
            f"{lo / 60:4.0f}–{hi / 60:3.0f} min {len(latencies):6d} "
            f"{percentile(latencies, 0.5):6.2f} {percentile(latencies, 0.95):6.2f} {queue:5.0f}  "
            + "  ".join(f"{memory[n]:10.1f}" for n in names)
        )
    clips_total = sum(len(r.results) for r in runs)
    print(
        f"\nclips spoken {clips_total}, finals {len(finals)}, WER "
        f"{corpus_word_error_rate(pairs) * 100:.2f} %"
    )
    print(f"listeners' finals: min {min(soak.listener_finals)} max {max(soak.listener_finals)}")
    spread = [(t - min(ts)) * 1000 for ts in soak.arrivals.values() for t in ts]
    print(
        f"a final reaches every listener within p50 {percentile(spread, 0.5):.0f} / p95 "
        f"{percentile(spread, 0.95):.0f} / max {max(spread):.0f} ms of the first"
    )
    if len(rows) >= 2:
        for name in names:
            first, last = rows[0][1][name], rows[-1][1][name]
            print(f"{name}: {first:.1f} → {last:.1f} MB ({(last / first - 1) * 100:+.1f} %)")
        first, last = rows[0][0], rows[-1][0]
        print(
            f"latency first window p50 {percentile(first, 0.5):.2f} / p95 "
            f"{percentile(first, 0.95):.2f} s; last window p50 {percentile(last, 0.5):.2f} / "
            f"p95 {percentile(last, 0.95):.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--window", type=float, default=10, help="minutes per reported window")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{platform.node()} · {os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{args.speakers} speakers, {args.listeners} listeners, {args.minutes:g} minutes\n")
    soak, runs = asyncio.run(run(args.url, args.speakers, args.listeners, args.minutes, args.every))
    report(soak, runs, args.window)


if __name__ == "__main__":
    main()
