"""Short utterances with their left context (issue 23, part 4): which context, by the numbers.

Three ways of decoding a live final of 3 s or less that follows another utterance of the same
session, through the local engine of this checkout:

* ``alone``: the utterance's audio alone (the engine before part 4);
* ``text``: the speaker's previous finals as the prompt (``LocalConfig.context_up_to_s``);
* ``audio``: the previous utterance's audio decoded before it, its final's words as the
  decoder's forced prefix (``LocalConfig.left_context``, left_context.py).

Prints, for each: shared/audio streamed in real time through one session (every clip, then
1.5 s of silence; JFK's "ask not" is a short utterance between two pauses), pooled WER and the
finals of the clips the ways disagree on; and the real-recordings dev set (var/devset/, each
clip its own session, as fast as the engine takes it, then 2 s of silence): pooled WER over the
clips where a short final follows another (the only ones a left context can change: a clip of
one utterance is decoded alike by all three), and over the whole set.

    .venv/bin/python -u bench/short_utterances.py [--parts clean,devset] [--ways alone,text,audio]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 16000
GAP_S = 1.5
SHORT_S = 3.0


def config(way: str):
    from transcription.engines.local.models import LocalConfig

    if way == "text":
        return LocalConfig(context_up_to_s=SHORT_S, left_context=False)
    return LocalConfig(left_context=way == "audio")


async def finals_of(pcm: bytes, way: str, speed: float | None):
    from tests.programme_scoring import stream_pcm_finals
    from transcription.engines.local.engine import LocalRealtimeEngine
    from transcription.engines.local.models import DecodeSlots

    engine = LocalRealtimeEngine(config(way), DecodeSlots())
    return sorted(await stream_pcm_finals(pcm, engine, speed), key=lambda f: f.start_ms)


async def clean(ways: list[str]) -> None:
    from tests.noisy_rooms import clip_samples
    from tests.speech import clips, corpus_word_error_rate
    from transcription.audio import float_to_pcm16

    spans, parts, at = [], [], 0.0
    for clip in clips():
        samples = clip_samples(clip).astype(np.float32)
        spans.append((clip, at, at + samples.size / RATE))
        parts += [samples, np.zeros(int(GAP_S * RATE), np.float32)]
        at += samples.size / RATE + GAP_S
    pcm = float_to_pcm16(np.concatenate(parts))
    said: dict[str, list[str]] = {}
    for way in ways:
        finals = await finals_of(pcm, way, speed=1.0)
        said[way] = [
            " / ".join(f.text for f in finals if start * 1000 - 500 <= f.start_ms < end * 1000)
            for _, start, end in spans
        ]
        pairs = [(c.reference, text) for (c, _, _), text in zip(spans, said[way], strict=True)]
        print(f"shared/audio live, {way}: WER {corpus_word_error_rate(pairs):.2%}", flush=True)
    for index, (clip, _, _) in enumerate(spans):
        texts = {way: said[way][index] for way in ways}
        if len(set(texts.values())) > 1:
            print(f"  {clip.name}: " + " | ".join(f"{w}: {t}" for w, t in texts.items()))


async def devset(ways: list[str], only: set[str] | None = None) -> None:
    from bench.devset import load_clips
    from tests.speech import corpus_word_error_rate
    from transcription.audio import float_to_pcm16

    clips = load_clips(only)
    texts: dict[str, dict[str, str]] = {way: {} for way in ways}
    affected: list = []
    for clip in clips:
        pcm = float_to_pcm16(np.concatenate([clip.samples(), np.zeros(2 * RATE, np.float32)]))
        first = await finals_of(pcm, ways[0], speed=None)
        texts[ways[0]][clip.id] = " ".join(f.text for f in first)
        if not any((f.end_ms - f.start_ms) <= SHORT_S * 1000 for f in first[1:]):
            for way in ways[1:]:  # no short final after another: decoded alike by all
                texts[way][clip.id] = texts[ways[0]][clip.id]
            continue
        affected.append(clip)
        for way in ways[1:]:
            texts[way][clip.id] = " ".join(f.text for f in await finals_of(pcm, way, None))
        print(f"  {clip.id}: " + " | ".join(f"{w}: {texts[w][clip.id]}" for w in ways), flush=True)
    words = sum(len(c.reference.split()) for c in affected)
    print(f"dev set: {len(affected)} clips with a short final after another ({words} words)")
    for way in ways:
        short = [(c.reference, texts[way][c.id]) for c in affected]
        every = [(c.reference, texts[way][c.id]) for c in clips]
        print(
            f"  {way}: WER there {corpus_word_error_rate(short):.2%}, "
            f"all {len(clips)} clips {corpus_word_error_rate(every):.2%}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="clean,devset")
    parser.add_argument("--ways", default="alone,text,audio")
    parser.add_argument("--only", help="dev set clip ids, comma-separated")
    args = parser.parse_args()
    ways = args.ways.split(",")
    only = set(args.only.split(",")) if args.only else None
    for part in args.parts.split(","):
        await (devset(ways, only) if part == "devset" else clean(ways))


if __name__ == "__main__":
    asyncio.run(main())
