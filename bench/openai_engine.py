"""Caption latency and accuracy through the OpenAI engine, with the speech server as endpoint.

The engine as a web process runs it (``OpenAIRealtimeEngine``, one session), fed the shared/audio
clips in real time (100 ms appends, a 1.5 s pause after each). It compares the models a site can
set in ``OPENAI_REALTIME_MODEL``: ``gpt-4o-transcribe`` (server VAD; the emulated server sends
deltas while speech goes on) and the streaming ``gpt-realtime-whisper`` (no turn detection: the
engine's own VAD commits; ``--delay``). Prints, per run:

* speech onset → first partial, p50/p95;
* end of speech → the clip's last final, p50/p95;
* the WER of the finals.

Speech onset and end in each clip come from Silero VAD over the clip, as in bench/live.py.
OpenAI itself is not reachable from here: these are the emulation's figures, not OpenAI's.

Usage (starts its own speech server unless ``--url`` points at a running one):

    .venv/bin/python bench/openai_engine.py
    .venv/bin/python bench/openai_engine.py --model gpt-realtime-whisper --delay low
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live import GAP_SECONDS, ClipTiming, percentile  # noqa: E402
from bench.pacing import send_in_real_time  # noqa: E402
from bench.speech_server import cpu_name, run_clips  # noqa: E402
from tests.speech import corpus_word_error_rate  # noqa: E402
from transcription.audio import StreamResampler  # noqa: E402
from transcription.engines.base import (  # noqa: E402
    EngineError,
    Final,
    OpenAIConfig,
    Partial,
    SessionConfig,
)
from transcription.engines.openai.realtime import OpenAIRealtimeEngine  # noqa: E402

INPUT_RATE = 16000  # the clips'
ENGINE_RATE = 24000
PREROLL_S = 0.35  # an utterance may start up to prefix_padding_ms before its speech


class Appender:
    """What bench/pacing.py sends to: each 100 ms frame is appended to the session at 24 kHz."""

    def __init__(self, session) -> None:
        self.session = session
        self.resampler = StreamResampler(INPUT_RATE, ENGINE_RATE)

    async def send(self, pcm16: bytes) -> None:
        await self.session.append(self.resampler.process(pcm16))


async def run(url: str, key: str, model: str, delay: str, timings: list[ClipTiming]):
    config = OpenAIConfig(
        api_key=key, realtime_endpoint=url, realtime_model=model, realtime_delay=delay
    )
    session = await OpenAIRealtimeEngine(config).open(SessionConfig(language="en", silence_ms=500))
    events: list[tuple[float, object]] = []

    async def listen() -> None:
        async for event in session.events():
            events.append((time.monotonic(), event))

    listener = asyncio.create_task(listen())
    walls, windows = [], []  # each clip's first frame (wall clock) and span (audio clock, s)
    appender, next_send, audio_s = Appender(session), time.monotonic(), 0.0
    pause = b"\x00" * int(INPUT_RATE * 2 * GAP_SECONDS)
    for timing in timings:
        audio = timing.pcm + pause
        walls.append(next_send)
        windows.append((audio_s, audio_s + len(audio) / 2 / INPUT_RATE))
        next_send = await send_in_real_time(appender, audio, next_send)
        audio_s = windows[-1][1]
    await session.close()
    await listener
    return figures(events, timings, walls, windows)


def figures(events, timings, walls, windows) -> list[tuple[float | None, float | None, str]]:
    """Per clip: (onset → first partial, end of speech → last final, the finals' text)."""
    finals = [(at, e) for at, e in events if isinstance(e, Final)]
    errors = [e for _, e in events if isinstance(e, EngineError)]
    if errors:
        print("engine errors:", errors)
    result = []
    for timing, wall, (start, end) in zip(timings, walls, windows, strict=True):
        # the pre-roll may put an utterance's start just before its clip: each final goes to
        # one clip only, the one its start plus the pre-roll falls in
        own = [(at, f) for at, f in finals if start <= f.start_ms / 1000 + PREROLL_S < end]
        ids = {f.item_id for _, f in own}
        partials = [at for at, e in events if isinstance(e, Partial) and e.item_id in ids]
        onset, speech_end = wall + timing.onset_s, wall + timing.end_s
        result.append(
            (
                min(partials) - onset if partials else None,
                max(at for at, _ in own) - speech_end if own else None,
                " ".join(f.text for _, f in own),
            )
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server's realtime URL (default: start one)")
    parser.add_argument("--api-key", default=os.environ.get("REALTIME_SERVER_API_KEY", ""))
    parser.add_argument("--model", default="gpt-4o-transcribe")
    parser.add_argument("--delay", default="medium", help="minimal|low|medium|high|xhigh")
    args = parser.parse_args()
    print(
        f"{platform.node()} · {os.cpu_count()} cores ({cpu_name()}) · "
        f"load {os.getloadavg()[0]:.2f} · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"model {args.model} · delay {args.delay}"
    )
    timings, results = run_clips(args, run)
    first = [r[0] for r in results if r[0] is not None]
    final = [r[1] for r in results if r[1] is not None]
    wer = corpus_word_error_rate(
        [(t.clip.reference, r[2]) for t, r in zip(timings, results, strict=True)]
    )
    print(
        f"{len(timings)} clips · onset→first partial p50 {percentile(first, 0.5):.2f} s "
        f"p95 {percentile(first, 0.95):.2f} s · end of speech→final "
        f"p50 {percentile(final, 0.5):.2f} s p95 {percentile(final, 0.95):.2f} s · "
        f"WER {wer * 100:.1f} % · clips without a partial {len(timings) - len(first)}"
    )
    for timing, (partial, last, text) in zip(timings, results, strict=True):
        print(f"  {timing.clip.name}: {partial} {last} {text!r}")


if __name__ == "__main__":
    main()
