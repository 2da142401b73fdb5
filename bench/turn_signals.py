"""Which signals tell a finished turn from a pause for breath: the measurement behind the rule of
transcription/engines/local/turns.py.

Offline, through the live engine's own parts: every clip is fed to Silero VAD on the session's
32 ms frames, and at every moment the session would start a speculative final (``--after`` ms of
silence into a pause) the utterance so far is decoded as a final (beam 5, one thread, as the
session does) and heard by Smart Turn. The pause is then labelled by what followed: the end of
the utterance (500 ms of silence) or speech going on (a pause for breath: a final sent there is a
false cut). Prints, for each rule, the share of ends it would end early and the share of pauses
it would cut, and the cost of each signal.

    .venv/bin/python bench/turn_signals.py [--sets shared,devset] [--after 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcription.engines.base import SessionConfig  # noqa: E402
from transcription.engines.local.decode import decode_final  # noqa: E402
from transcription.engines.local.models import LocalConfig, realtime_model, tokenizer  # noqa: E402
from transcription.engines.local.stream import FRAME, StreamingVad, Utterance  # noqa: E402
from transcription.engines.local.turns import (  # noqa: E402
    TurnConfig,
    sentence_ends,
    smart_turn,
)

RATE = 16000
END_MS = 500
PREROLL_FRAMES = 300 * RATE // 1000 // FRAME + 1


@dataclass
class Pause:
    clip: str
    ended: bool  # the utterance ended here (else speech went on: a cut would be false)
    pause_ms: int  # how long the pause lasted (END_MS for an end)
    text: str
    probability: float
    decode_s: float
    turn_s: float


def pauses(samples: np.ndarray, after_ms: int) -> list[tuple[np.ndarray, int]]:
    """The utterance so far at every pause reaching ``after_ms``, and how long the pause was
    (``END_MS``: the utterance ended there)."""
    vad, found, after = StreamingVad(), [], after_ms * RATE // 1000
    preroll, utterance, silent, last_silent, open_at = Utterance(), None, 0, 0, None
    padded = np.concatenate([samples, np.zeros(RATE, dtype=np.float32)])
    for start in range(0, padded.size - FRAME + 1, FRAME):
        frame = padded[start : start + FRAME]
        probability = vad.probability(frame)
        heard = probability >= 0.5
        if utterance is None:
            preroll.add(frame, probability)
            preroll = preroll.split(max(0, len(preroll.frames) - PREROLL_FRAMES))
            if heard:
                utterance, preroll, silent = preroll, Utterance(), 0
            continue
        utterance.add(frame, probability)
        silent = 0 if heard else silent + FRAME
        if heard and open_at is not None:
            found.append((open_at, last_silent * 1000 // RATE))
            open_at = None
        last_silent = silent
        if silent >= after > silent - FRAME:  # the frame on which the pause reaches after_ms
            open_at = utterance.audio(0.5)
        if silent * 1000 // RATE >= END_MS:
            if open_at is not None:
                found.append((open_at, END_MS))
            utterance, open_at = None, None
    return found


def measure(name: str, samples: np.ndarray, after_ms: int) -> list[Pause]:
    local, config = LocalConfig(threads=2), SessionConfig()
    model, tok = realtime_model(local), tokenizer(local)
    turn = smart_turn(TurnConfig(model_dir=ROOT / "var" / "models").path())
    measured = []
    for audio, pause_ms in pauses(samples, after_ms):
        started = time.perf_counter()
        text = decode_final(model, tok, audio, config).text
        decoded = time.perf_counter()
        probability = turn.probability(audio)
        measured.append(
            Pause(
                name,
                pause_ms >= END_MS,
                pause_ms,
                text,
                probability,
                decoded - started,
                time.perf_counter() - decoded,
            )
        )
    return measured


def corpus(sets: list[str]) -> list[tuple[str, np.ndarray]]:
    found = []
    if "shared" in sets:
        from tests.speech import clips

        for clip in clips():
            pcm, _ = clip.pcm16()
            found.append((clip.name, np.frombuffer(pcm, "<i2").astype(np.float32) / 32768))
    if "devset" in sets:
        from bench.devset import load_clips

        found += [(clip.id, clip.samples()) for clip in load_clips()]
    return found


def report(measured: list[Pause], early_ms: int) -> None:
    ends = [p for p in measured if p.ended]
    breaths = [p for p in measured if not p.ended and p.pause_ms >= early_ms]
    short = len(measured) - len(ends) - len(breaths)
    print(
        f"\n{len(ends)} ends of utterances; {len(breaths)} pauses of {early_ms}–{END_MS} ms where "
        f"speech went on (a final sent there is a false cut); {short} shorter ones (no harm)"
    )
    rules = {"text ends a sentence": lambda p: sentence_ends(p.text)}
    for threshold in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98):
        rules[f"Smart Turn ≥ {threshold}"] = lambda p, t=threshold: p.probability >= t
        rules[f"text and Smart Turn ≥ {threshold}"] = lambda p, t=threshold: (
            sentence_ends(p.text) and p.probability >= t
        )
    print("| rule | ends ended early | pauses cut (false cuts) |\n|---|---:|---:|")
    for name, rule in rules.items():
        early = sum(rule(p) for p in ends)
        cut = sum(rule(p) for p in breaths)
        print(
            f"| {name} | {early}/{len(ends)} ({100 * early / max(1, len(ends)):.0f} %) "
            f"| {cut}/{len(breaths)} ({100 * cut / max(1, len(breaths)):.0f} %) |"
        )
    decode = sorted(p.decode_s for p in measured)
    turn = sorted(p.turn_s for p in measured)
    print(
        f"\nfinal decode p50 {decode[len(decode) // 2]:.3f} s, p95 "
        f"{decode[int(len(decode) * 0.95)]:.3f} s; Smart Turn p50 {turn[len(turn) // 2]:.3f} s"
    )
    print("\nfalse cuts as a share of finals (ends, and pauses cut), by rule:")
    for name, rule in rules.items():
        cut = sum(rule(p) for p in breaths)
        print(f"  {name}: {100 * cut / (len(ends) + cut):.1f} %")
    print("\npauses where speech went on:")
    for p in breaths:
        print(f"  {p.clip}: {p.pause_ms} ms, {p.probability:.2f} {p.text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="shared,devset")
    parser.add_argument("--after", type=int, default=64, help="ms of silence into a pause")
    parser.add_argument("--early", type=int, default=200, help="ms of silence of an early final")
    parser.add_argument("--save", type=Path, help="write every pause measured here (JSON)")
    parser.add_argument("--load", type=Path, help="report pauses saved by --save, no decoding")
    args = parser.parse_args()
    print(f"{platform.node()} · {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"pauses probed {args.after} ms into the silence · load {os.getloadavg()[0]:.1f}")
    if args.load:
        measured = [Pause(**p) for p in json.loads(args.load.read_text())]
    else:
        measured = []
        for name, samples in corpus(args.sets.split(",")):
            measured += measure(name, samples, args.after)
    if args.save:
        args.save.write_text(json.dumps([asdict(p) for p in measured]))
    report(measured, args.early)


if __name__ == "__main__":
    main()
