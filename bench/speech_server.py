"""Caption latency through the speech server alone: its Realtime WebSocket, no web process.

Streams the shared/audio clips in real time (100 ms appends of 24 kHz audio, a 1.5 s pause after
each) to ``/v1/realtime?intent=transcription``, as one client, and prints:

* speech onset → first transcription delta, p50/p95;
* end of speech → last ``completed`` of the clip, p50/p95;
* the WER of the completed transcripts, and how far the deltas' text is from them (the words
  the final corrected: deltas cannot be taken back).

Speech onset and end in each clip come from Silero VAD over the clip, as in bench/live.py.

With server VAD (the default session) each utterance is an item of its own. With a streaming
model (``--model gpt-realtime-whisper``) turn detection is off and the client commits after each
clip's pause, as a push-to-talk client would.

Usage (starts its own server unless ``--url`` points at a running one):

    .venv/bin/python bench/speech_server.py
    .venv/bin/python bench/speech_server.py --model gpt-realtime-whisper --delay low
    .venv/bin/python bench/speech_server.py --url ws://host:8765/v1/realtime --api-key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live import GAP_SECONDS, ClipTiming, percentile, speech_bounds  # noqa: E402
from bench.pacing import send_in_real_time  # noqa: E402
from tests.speech import clips, corpus_word_error_rate  # noqa: E402
from transcription.audio import StreamResampler  # noqa: E402
from transcription.engines.openai.protocol import STREAMING_MODELS  # noqa: E402

INPUT_RATE = 16000  # the clips'
SERVER_RATE = 24000


class Appender:
    """What bench/pacing.py sends to: each 100 ms frame becomes one append of 24 kHz audio."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.resampler = StreamResampler(INPUT_RATE, SERVER_RATE)

    async def send(self, pcm16: bytes) -> None:
        audio = base64.b64encode(self.resampler.process(pcm16)).decode()
        await self.ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))


@dataclass
class Heard:
    """The server's events, with their arrival (time.monotonic()), by item."""

    started_ms: dict[str, int] = field(default_factory=dict)
    first_delta: dict[str, float] = field(default_factory=dict)
    streamed: dict[str, str] = field(default_factory=dict)
    completed: dict[str, tuple[float, str]] = field(default_factory=dict)
    committed: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def event(self, event: dict, now: float) -> None:
        kind, item = event["type"], event.get("item_id", "")
        if kind == "input_audio_buffer.speech_started":
            self.started_ms[item] = event["audio_start_ms"]
        elif kind == "input_audio_buffer.committed":
            self.committed.append(item)
        elif kind == "conversation.item.input_audio_transcription.delta":
            self.first_delta.setdefault(item, now)
            self.streamed[item] = self.streamed.get(item, "") + event["delta"]
        elif kind == "conversation.item.input_audio_transcription.completed":
            self.completed[item] = (now, event["transcript"])
        elif kind == "error" and event["error"]["code"] != "input_audio_buffer_commit_empty":
            self.errors.append(event)

    def pending(self) -> set[str]:
        return (set(self.started_ms) | set(self.committed)) - set(self.completed)


@dataclass
class ClipFigures:
    first_delta: float | None
    final: float | None
    text: str
    streamed: str


async def run(url: str, key: str, model: str, delay: str | None, timings: list[ClipTiming]):
    streaming = model in STREAMING_MODELS
    transcription = {"model": model, "language": "en"}
    if delay:
        transcription["delay"] = delay
    detection = None if streaming else {"type": "server_vad", "silence_duration_ms": 500}
    update = {
        "type": "session.update",
        "session": {
            "type": "transcription",
            "audio": {"input": {"transcription": transcription, "turn_detection": detection}},
        },
    }
    headers = {"Authorization": f"Bearer {key}"}
    heard = Heard()
    clip_walls: list[float] = []  # when each clip's first frame was due
    clip_audio: list[tuple[float, float]] = []  # each clip (and its pause) on the audio clock
    async with websockets.connect(
        url + "?intent=transcription", additional_headers=headers, max_size=2**24
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(json.dumps(update))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "session.updated", answer
        receiver = asyncio.create_task(receive(ws, heard))
        appender, next_send, audio_s = Appender(ws), time.monotonic(), 0.0
        silence = b"\x00" * int(INPUT_RATE * 2 * GAP_SECONDS)
        for timing in timings:
            audio = timing.pcm + silence
            clip_walls.append(next_send)
            clip_audio.append((audio_s, audio_s + len(audio) / 2 / INPUT_RATE))
            next_send = await send_in_real_time(appender, audio, next_send)
            audio_s = clip_audio[-1][1]
            if streaming:
                await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        if not streaming:
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))  # any tail
        await settle(heard, len(timings) if streaming else 0)
        receiver.cancel()
    return figures(heard, timings, clip_walls, clip_audio, streaming)


async def receive(ws, heard: Heard) -> None:
    async for raw in ws:
        heard.event(json.loads(raw), time.monotonic())


async def settle(heard: Heard, commits: int, within: float = 60) -> None:
    """Until every item has its transcript (and, with client commits, every commit its item)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(heard.committed) >= commits and not heard.pending():
            await asyncio.sleep(0.5)  # a straggler, if any
            if not heard.pending():
                return
        await asyncio.sleep(0.1)


def figures(
    heard: Heard,
    timings: list[ClipTiming],
    clip_walls: list[float],
    clip_audio: list[tuple[float, float]],
    streaming: bool,
) -> list[ClipFigures]:
    """Per clip: its items (by commit order, or by where their speech started)."""
    items: list[list[str]] = [[] for _ in timings]
    if streaming:
        for index, item in enumerate(heard.committed[: len(timings)]):
            items[index].append(item)
    else:
        for item, start_ms in sorted(heard.started_ms.items(), key=lambda kv: kv[1]):
            # the start includes the pre-roll: it may fall just before its clip
            at = start_ms / 1000 + 0.35
            index = next((i for i, (s, e) in enumerate(clip_audio) if s <= at < e), -1)
            items[index].append(item)
    result = []
    for timing, wall, own in zip(timings, clip_walls, items, strict=True):
        deltas = [heard.first_delta[i] for i in own if i in heard.first_delta]
        finals = [heard.completed[i] for i in own if i in heard.completed]
        onset, end = wall + timing.onset_s, wall + timing.end_s
        result.append(
            ClipFigures(
                min(deltas) - onset if deltas else None,
                max(at for at, _ in finals) - end if finals else None,
                " ".join(text for _, text in finals if text),
                " ".join(heard.streamed[i] for i in own if i in heard.streamed),
            )
        )
    return result


def start_server():
    from tests.speech_server import API_KEY, SpeechServerProcess

    process = SpeechServerProcess()
    process.start()
    return process, process.realtime_url, API_KEY


def run_clips(args, run) -> tuple[list[ClipTiming], list]:
    """The clips, and ``run`` over them against ``args.url`` or a speech server started for it."""
    timings = [ClipTiming(c, *speech_bounds(c)) for c in clips()]
    process = None
    url, key = args.url, args.api_key
    if url is None:
        process, url, key = start_server()
    try:
        return timings, asyncio.run(run(url, key, args.model, args.delay, timings))
    finally:
        if process is not None:
            process.stop()


def cpu_name() -> str:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "AVX-512" if " avx512f" in flags else "AVX2"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server's realtime URL (default: start one)")
    parser.add_argument("--api-key", default=os.environ.get("REALTIME_SERVER_API_KEY", ""))
    parser.add_argument("--model", default="gpt-4o-transcribe")
    parser.add_argument("--delay", help="minimal|low|medium|high|xhigh (streaming models)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{platform.node()} · {os.cpu_count()} cores ({cpu_name()}) · load {load:.2f} · "
        f"{time.strftime('%Y-%m-%d %H:%M')} · model {args.model}"
        + (f" · delay {args.delay}" if args.delay else "")
    )
    timings, results = run_clips(args, run)
    first = [r.first_delta for r in results if r.first_delta is not None]
    final = [r.final for r in results if r.final is not None]
    pairs = [(t.clip.reference, r.text) for t, r in zip(timings, results, strict=True)]
    wer = corpus_word_error_rate(pairs)
    corrected = corpus_word_error_rate([(r.text, r.streamed) for r in results if r.text])
    print(
        f"{len(timings)} clips · onset→first delta p50 {percentile(first, 0.5):.2f} s "
        f"p95 {percentile(first, 0.95):.2f} s · end of speech→completed "
        f"p50 {percentile(final, 0.5):.2f} s p95 {percentile(final, 0.95):.2f} s · "
        f"WER {wer * 100:.1f} % · deltas vs completed {corrected * 100:.1f} % · "
        f"clips without a delta {len(timings) - len(first)}"
    )
    for timing, result in zip(timings, results, strict=True):
        print(f"  {timing.clip.name}: {result.first_delta} {result.final} {result.text!r}")


if __name__ == "__main__":
    main()
