"""Settling the head of a long utterance while it is said: what it saves and what it costs.

Streams the shared/audio clips and the long-form programmes (tests/programmes.py) through the
local realtime engine in this process, paced at ``--speed`` times real time so that a head's
decode can finish while the speaker goes on, as it does live. Every final is decoded as a
crowded one (beam 2, after its head if it has one), since only those use the head. Once per
choice of ``SETTLE_AFTER_S`` ("off": never settle). Prints, for each:

* the WER of the clips (one session each) and the pooled WER of the programmes;
* how many heads settled, and how many utterances had one by their final;
* what a final's decode cost on its thread: mean, and mean over utterances of 8 s or more.

Usage:

    .venv/bin/python bench/settled_heads.py [--speed 4] [--settle-after off,6]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser_capture import machine  # noqa: E402
from bench.live_programme import pooled_wer  # noqa: E402
from tests.programme_scoring import programme_wer, stream_pcm_finals  # noqa: E402
from tests.programmes import programmes  # noqa: E402
from tests.speech import clips, corpus_word_error_rate  # noqa: E402
from transcription.engines.local import stream as local_stream  # noqa: E402
from transcription.engines.local.decode import CROWDED_FINAL_BEAM_SIZE, SAMPLE_RATE  # noqa: E402
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine  # noqa: E402
from transcription.engines.local.models import DecodeSlots  # noqa: E402


class Tally:
    """Finals' decode times on their threads, by utterance length, and the heads they used."""

    def __init__(self) -> None:
        self.finals: list[tuple[float, float]] = []  # (utterance seconds, decode seconds)
        self.with_head = 0
        self.settled = 0
        decode_final = local_stream.LocalSession._decode_final
        decode_head = local_stream.LocalSession._decode_head

        def timed_final(session, samples, speech_after, context, head):
            started = time.perf_counter()
            decoded = decode_final(session, samples, speech_after, context, head)
            self.finals.append((samples.size / SAMPLE_RATE, time.perf_counter() - started))
            self.with_head += bool(head.text)
            return decoded

        def counted_head(session, samples, head, dips):
            settled = decode_head(session, samples, head, dips)
            self.settled += settled is not head
            return settled

        local_stream.LocalSession._decode_final = timed_final
        local_stream.LocalSession._decode_head = counted_head


def measure(label: str, settle_after: float, speed: float) -> None:
    local_stream.SETTLE_AFTER_S = settle_after
    slots = DecodeSlots()
    slots.final_beam = lambda priority=0: CROWDED_FINAL_BEAM_SIZE
    tally = Tally()
    engine = LocalRealtimeEngine(LocalConfig(threads=2), slots)
    silence = bytes(SAMPLE_RATE * 2)  # a second after each clip: its final is due in it
    clip_pairs = []
    for clip in clips():
        finals = asyncio.run(stream_pcm_finals(clip.pcm16()[0] + silence, engine, speed))
        clip_pairs.append((clip.reference, " ".join(f.text for f in finals)))
    pairs, per_programme = [], []
    for programme in programmes():
        finals = asyncio.run(stream_pcm_finals(programme.pcm16(), engine, speed))
        pairs.append((programme, finals))
        wer = programme_wer(programme.utterances, finals) * 100
        per_programme.append(f"{programme.name} {wer:.1f}")
    long = [cost for seconds, cost in tally.finals if seconds >= 8.0]
    print(
        f"{label}: clips WER {corpus_word_error_rate(clip_pairs) * 100:.2f} % · programmes WER "
        f"{pooled_wer(pairs) * 100:.2f} % ({', '.join(per_programme)})\n"
        f"  heads settled {tally.settled}; finals after a head {tally.with_head} of "
        f"{len(tally.finals)} · final decode mean {statistics.mean(c for _, c in tally.finals):.3f}"
        f" s, utterances of 8 s or more ({len(long)}) {statistics.mean(long or [0]):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument("--settle-after", default="off,6")
    args = parser.parse_args()
    print(f"{machine()} · {time.strftime('%Y-%m-%d %H:%M')} · {args.speed:g}× real time")
    for choice in args.settle_after.split(","):
        seconds = 1e9 if choice == "off" else float(choice)
        label = "never settled" if choice == "off" else f"settled after {choice} s"
        measure(label, seconds, args.speed)


if __name__ == "__main__":
    main()
