"""``bench/live.py --programme``: the long-form programmes (tests/programmes.py), live.

One speaker streams each programme in real time to a running server, as a real client, and this
prints, next to plain faster-whisper and the project's batch engine on the same audio:

* the WER of the finals, the worst coverage (reference words found in the finals near them)
  of an utterance and of 10 s of speech, and the phrases repeated more often than said;
* end of speech → final, p50/p95: for every utterance that ends in a pause of at least 1 s
  (a shorter pause is not the end of speech: inside a run no final is due there yet), the time
  from the end of its speech to the arrival of the final that holds it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import numpy as np
import websockets

from bench.pacing import send_in_real_time
from tests.programme_scoring import (
    Final,
    coverage,
    programme_wer,
    repeated_phrases,
    windowed_coverage,
)
from tests.programmes import Programme, programmes

END_OF_SPEECH_MS = 1000  # a pause this long after an utterance: the speaker stopped
#: the speech detector's end of an utterance may run this far into the pause after it
VAD_TAIL_MS = 300


@dataclass
class Arrival:
    final: Final
    at: float  # time.monotonic() when it came


@dataclass
class ProgrammeRun:
    programme: Programme
    started: float = 0.0  # time.monotonic() when its first audio was sent
    arrivals: list[Arrival] = field(default_factory=list)

    @property
    def finals(self) -> list[Final]:
        return [a.final for a in self.arrivals]

    def latencies(self) -> list[float]:
        """End of speech → final, for every utterance after which the speaker stopped.

        The end of speech is where the speech detector says it ends, as bench/live.py measures
        it for the clips: its last speech within the utterance.
        """
        utterances = self.programme.utterances
        ends = speech_ends_ms(self.programme)
        latencies = []
        for index, (utterance, after) in enumerate(
            zip(utterances, [*utterances[1:], None], strict=True)
        ):
            gap = (after.start_ms if after else self.programme.duration_ms) - utterance.end_ms
            if gap < END_OF_SPEECH_MS:
                continue
            # the final that holds the utterance's last words: the last to start before its end
            started = [a for a in self.arrivals if a.final.start_ms <= utterance.end_ms]
            holder = max(started, key=lambda a: a.final.start_ms, default=None)
            if holder is not None and holder.final.end_ms > utterance.start_ms:
                latencies.append(holder.at - (self.started + ends[index] / 1000))
        return latencies


def speech_ends_ms(programme: Programme) -> list[int]:
    """Where Silero VAD (faster-whisper's) hears each utterance's speech end."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=0)
    spans = get_speech_timestamps(programme.samples, options)
    ends = []
    for u in programme.utterances:
        inside = [s["end"] * 1000 // 16000 for s in spans if u.start_ms <= s["end"] * 1000 // 16000]
        inside = [end for end in inside if end <= u.end_ms + VAD_TAIL_MS]
        ends.append(max(inside, default=u.end_ms))
    return ends


async def stream_programme(url: str, slug: str, token: str, programme: Programme) -> ProgrammeRun:
    ws_url = url.replace("http", "ws", 1) + f"/ws/meetings/{slug}/?token={token}"
    run = ProgrammeRun(programme)
    async with websockets.connect(ws_url, max_size=2**22) as ws:
        ready = json.loads(await ws.recv())
        me = ready["participant"]["id"]
        await ws.send(json.dumps({"type": "session.start", "sample_rate": 16000}))
        receiver = asyncio.create_task(collect_finals(ws, me, run))
        run.started = time.monotonic()
        await send_in_real_time(ws, programme.pcm16(), run.started)
        await ws.send(json.dumps({"type": "session.stop"}))
        await asyncio.wait_for(receiver, 120)
    return run


async def collect_finals(ws, me: int, run: ProgrammeRun) -> None:
    async for raw in ws:
        event = json.loads(raw)
        if event["type"] == "session.stopped":
            return
        if event["type"] == "caption.final" and event["speaker"]["id"] == me:
            final = Final(event["text"], event["start_ms"], event["end_ms"])
            run.arrivals.append(Arrival(final, time.monotonic()))


def batch_finals(programme: Programme) -> dict[str, list[Final]]:
    """Plain faster-whisper (beam 5, no VAD) and the project's batch engine, same audio."""
    from transcription.engines.local.engine import LocalBatchEngine, LocalConfig
    from transcription.engines.local.models import whisper_model

    config = LocalConfig(threads=2)
    segments, _ = whisper_model(config).transcribe(
        programme.samples, language="en", beam_size=5, vad_filter=False
    )
    plain = [Final(s.text.strip(), int(s.start * 1000), int(s.end * 1000)) for s in segments]
    ours = LocalBatchEngine(config).transcribe(programme.samples, language="en")
    project = [Final(s.text, s.start_ms, s.end_ms) for s in ours.segments]
    return {"plain faster-whisper": plain, "project batch": project}


def describe(programme: Programme, finals: list[Final]) -> str:
    shares = coverage(programme.utterances, finals)
    per_10_s = windowed_coverage(programme.utterances, finals)
    repeats = [r.phrase for r in repeated_phrases(programme.utterances, finals)]
    wer = programme_wer(programme.utterances, finals) * 100
    return (
        f"WER {wer:5.1f} %  worst coverage: utterance {min(shares):.2f}, "
        f"10 s of speech {min(per_10_s):.2f}  repeated {repeats or '-'}"
    )


def run_programmes(url: str, names: list[str], room, with_batch: bool) -> None:
    """Stream each programme (``room()`` gives a fresh slug and token) and print the figures."""
    chosen = [p for p in programmes() if not names or p.name in names]
    pooled: dict[str, list[tuple[Programme, list[Final]]]] = {}
    latencies: list[float] = []
    for programme in chosen:
        slug, token = room()
        run = asyncio.run(stream_programme(url, slug, token, programme))
        latencies += run.latencies()
        results = {"live": run.finals, **(batch_finals(programme) if with_batch else {})}
        print(f"{programme.name} ({programme.duration_ms / 1000:.0f} s, {programme.condition})")
        for label, finals in results.items():
            pooled.setdefault(label, []).append((programme, finals))
            print(f"  {label:20s} {describe(programme, finals)}")
        ends = run.latencies()
        if ends:
            print(f"  end of speech → final: {' '.join(f'{s:.2f}' for s in ends)} s")
    print()
    for label, pairs in pooled.items():
        print(f"all programmes, {label:20s} WER {pooled_wer(pairs) * 100:.2f} %")
    if latencies:
        p50, p95 = np.percentile(latencies, [50, 95])
        print(f"end of speech → final over all programmes: p50 {p50:.2f} s, p95 {p95:.2f} s")


def pooled_wer(pairs: list[tuple[Programme, list[Final]]]) -> float:
    from tests.speech import corpus_word_error_rate

    return corpus_word_error_rate(
        [
            (p.reference, " ".join(f.text for f in sorted(finals, key=lambda f: f.start_ms)))
            for p, finals in pairs
        ]
    )
