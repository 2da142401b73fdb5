"""The speech gate (issue 23, part 2), measured offline: what the local engines keep.

Prints, for the local engines of this checkout (or of ``--engines-from DIR``, a directory
holding another commit's ``transcription/`` package: the "before" figures):

* shared/audio, live: every clip then 1.5 s of silence through one streaming session paced in
  real time; WER of the finals and end of speech → final (wall clock; the end of speech is where
  Silero over the clean clip last hears speech, as bench/live.py takes it), p50/p95, and the part
  of it the gate decides, on the audio clock: end of speech → the utterance's end (its
  ``SpeechStopped``), which the machine's load does not move;
* the noisy rooms of tests/noisy_rooms.py (hum, rumble with a DC offset, fan, telephone) over
  every shared/audio clip, live (as fast as the engine takes it: it works on the audio clock)
  and batch: pooled WER, and the words each room gives alone (12 s);
* the real-recordings dev set (bench/devset/, fetched into var/devset/), if present: pooled
  WER, batch and live (as fast as it is taken, each clip then 2 s of silence).

    .venv/bin/python -u bench/gate.py [--parts clean,rooms,devset] [--engines-from DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def setup_path(engines_from: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    if engines_from:  # its transcription package first: the engines as they were
        sys.path.insert(0, str(Path(engines_from).resolve()))


RATE = 16000
GAP_S = 1.5


def speech_end_s(samples: np.ndarray) -> float:
    """Where Silero last hears speech in a clean clip (as bench/live.py finds it)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(
        samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0)
    )
    return chunks[-1]["end"] / RATE if chunks else samples.size / RATE


async def clean_live() -> None:
    from tests.speech import clips, corpus_word_error_rate
    from transcription.audio import float_to_pcm16
    from transcription.engines.base import Final, SessionConfig, SpeechStopped
    from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
    from transcription.engines.local.models import DecodeSlots

    spans, parts, at = [], [], 0.0
    for clip in clips():
        samples = _clip_samples(clip)
        spans.append((clip, at, at + speech_end_s(samples)))
        parts += [samples, np.zeros(int(GAP_S * RATE), np.float32)]
        at += samples.size / RATE + GAP_S
    pcm = float_to_pcm16(np.concatenate(parts))
    session = await LocalRealtimeEngine(LocalConfig(), DecodeSlots()).open(
        SessionConfig(language="en")
    )
    arrivals: list[tuple[float, Final]] = []
    stops: list[int] = []

    async def read() -> None:
        async for event in session.events():
            if isinstance(event, Final):
                arrivals.append((time.perf_counter(), event))
            elif isinstance(event, SpeechStopped):
                stops.append(event.audio_ms)

    reader = asyncio.create_task(read())
    step, started = RATE * 2 // 10, time.perf_counter()
    for index, offset in enumerate(range(0, len(pcm), step)):
        await session.append(pcm[offset : offset + step])
        await asyncio.sleep(max(0.0, started + (index + 1) * 0.1 - time.perf_counter()))
    await session.close()
    await reader
    pairs, latencies, decided = [], [], []
    for clip, start, end in spans:
        # the utterance that ends the clip ends in the silence after it
        after = [ms / 1000 - end for ms in stops if 0 <= ms / 1000 - end < GAP_S]
        if after:
            decided.append(min(after))
        mine = [(t, f) for t, f in arrivals if start * 1000 - 500 <= f.start_ms < end * 1000]
        pairs.append((clip.reference, " ".join(f.text for _, f in mine)))
        if mine:
            latencies.append(max(t for t, _ in mine) - (started + end))
    wer = corpus_word_error_rate(pairs)
    p50, p95 = np.percentile(latencies, [50, 95])
    print(
        f"shared/audio live: WER {wer:.2%}, end of speech -> final p50 {p50:.2f} s, p95 {p95:.2f} s"
    )
    d50, d95 = np.percentile(decided, [50, 95])
    print(f"  end of speech -> utterance ended (audio clock) p50 {d50:.3f} s, p95 {d95:.3f} s")


def _clip_samples(clip) -> np.ndarray:
    from transcription.audio import pcm16_to_float, resample

    pcm, rate = clip.pcm16()
    return resample(pcm16_to_float(pcm), rate, RATE).astype(np.float32)


async def live_text(samples: np.ndarray, tail_s: float = 0.0) -> str:
    from tests.programme_scoring import stream_pcm_finals
    from transcription.audio import float_to_pcm16
    from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
    from transcription.engines.local.models import DecodeSlots

    pcm = float_to_pcm16(np.concatenate([samples, np.zeros(int(tail_s * RATE), np.float32)]))
    finals = await stream_pcm_finals(pcm, LocalRealtimeEngine(LocalConfig(), DecodeSlots()))
    return " ".join(f.text for f in sorted(finals, key=lambda f: f.start_ms))


def batch_text(samples: np.ndarray) -> str:
    from transcription.engines.local.engine import LocalBatchEngine, LocalConfig

    return LocalBatchEngine(LocalConfig()).transcribe(samples).text


async def rooms() -> None:
    from tests.noisy_rooms import ROOMS, in_room
    from tests.speech import clips, corpus_word_error_rate

    for room in ROOMS:
        live, batch = [], []
        for clip in clips():
            samples = in_room(room, clip)
            live.append((clip.reference, await live_text(samples)))
            batch.append((clip.reference, batch_text(samples)))
        alone = in_room(room, None, 12.0)
        said = f"{await live_text(alone)!r} / {batch_text(alone)!r}"
        print(
            f"{room}: live WER {corpus_word_error_rate(live):.2%}, "
            f"batch {corpus_word_error_rate(batch):.2%}; alone, live / batch: {said}"
        )


async def devset() -> None:
    from bench.devset import load_clips
    from tests.speech import corpus_word_error_rate, word_error_rate

    live, batch = [], []
    for clip in load_clips():
        samples = clip.samples()
        live.append((clip.reference, await live_text(samples, tail_s=2.0)))
        batch.append((clip.reference, batch_text(samples)))
        print(
            f"  {clip.id}: live {word_error_rate(*live[-1]):.1%}, "
            f"batch {word_error_rate(*batch[-1]):.1%}"
        )
    live_wer, batch_wer = corpus_word_error_rate(live), corpus_word_error_rate(batch)
    print(f"dev set: live WER {live_wer:.2%}, batch {batch_wer:.2%}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="clean,rooms,devset")
    parser.add_argument("--engines-from", default=None)
    args = parser.parse_args()
    setup_path(args.engines_from)
    import transcription.engines.local.engine as local

    print(f"engines: {Path(local.__file__).parent}")
    parts = {"clean": clean_live, "rooms": rooms, "devset": devset}
    for name in args.parts.split(","):
        await parts[name]()


if __name__ == "__main__":
    asyncio.run(main())
