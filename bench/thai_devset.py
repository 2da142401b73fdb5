"""Thai real recordings (bench/devset/thai.json) scored as character error rate.

Thai has no spaces between words, so a whole sentence is one "word" and WER says nothing: both
sides lose their spaces and punctuation (``tests.thai_speech.letters``) and characters count,
pooled over the set (edits over reference characters) and per clip. Systems:

* ``plain``: plain faster-whisper on the same model (``multilingual-base``, int8, beam 5, no
  VAD filter): the reference point;
* ``batch``: the project's batch engine (what ``manage.py transcribe --engine local`` runs);
* ``live``: the live engine's finals, in this process (no server): the clip in 100 ms frames
  as fast as they are taken (the engine decodes on the audio clock), then 2 s of silence;
* ``tiny.en``: plain faster-whisper on the bundled English-only model, for what Thai meetings
  got before.

    .venv/bin/python bench/devset/fetch.py --manifest bench/devset/thai.json \\
        --out var/devset-thai --mirrors /work/.mirror
    .venv/bin/python bench/thai_devset.py [--language th|auto] [--systems plain,batch,live,tiny.en]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import wave
from pathlib import Path

import jiwer
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.thai_speech import letters  # noqa: E402
from transcription.engines.base import Final, SessionConfig  # noqa: E402
from transcription.engines.local.engine import LocalBatchEngine, LocalRealtimeEngine  # noqa: E402
from transcription.engines.local.models import DecodeSlots, LocalConfig, model_path  # noqa: E402

MANIFEST = ROOT / "bench" / "devset" / "thai.json"
AUDIO = ROOT / "var" / "devset-thai"
CACHE = ROOT / "var" / "models"


def load(clip: dict) -> np.ndarray:
    with wave.open(str(AUDIO / f"{clip['id']}.wav"), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    return np.frombuffer(pcm, np.int16).astype(np.float32) / 32768


def plain(directory: str, language: str | None):
    from faster_whisper import WhisperModel

    model = WhisperModel(directory, device="cpu", compute_type="int8", cpu_threads=2)

    def transcribe(samples: np.ndarray) -> tuple[str, str]:
        segments, info = model.transcribe(samples, language=language, beam_size=5, vad_filter=False)
        return "".join(s.text for s in segments), info.language

    return transcribe


def batch(language: str | None):
    engine = LocalBatchEngine(LocalConfig(model_path="multilingual-base", cache_dir=CACHE))

    def transcribe(samples: np.ndarray) -> tuple[str, str]:
        result = engine.transcribe(samples, language=language)
        return result.text, result.language or ""

    return transcribe


def live(language: str | None):
    engine = LocalRealtimeEngine(
        LocalConfig(model_path="multilingual-base", cache_dir=CACHE), DecodeSlots()
    )

    async def finals(samples: np.ndarray) -> list[Final]:
        session = await engine.open(SessionConfig(language=language))
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes()
        pcm += bytes(2 * 16000 * 2)  # 2 s of silence: the last utterance ends
        for start in range(0, len(pcm), 3200):
            await session.append(pcm[start : start + 3200])
        await session.close()
        return [e async for e in session.events() if isinstance(e, Final)]

    def transcribe(samples: np.ndarray) -> tuple[str, str]:
        heard = asyncio.run(finals(samples))
        languages = {f.language for f in heard if f.language}
        return "".join(f.text for f in heard), ",".join(sorted(languages))

    return transcribe


def systems(names: list[str], language: str | None) -> dict:
    base = model_path(LocalConfig(model_path="multilingual-base", cache_dir=CACHE))
    made = {"plain": lambda: plain(base, language), "batch": lambda: batch(language)}
    made["live"] = lambda: live(language)
    made["tiny.en"] = lambda: plain(model_path(LocalConfig()), "en")
    return {name: made[name]() for name in names}


def score(clips: list[dict], transcribe) -> dict:
    edits = chars = 0
    rows, audio_s, started = [], 0.0, time.perf_counter()
    for clip in clips:
        samples = load(clip)
        audio_s += samples.size / 16000
        text, language = transcribe(samples)
        reference, heard = letters(clip["reference"]), letters(text) or "-"
        result = jiwer.process_characters(reference, heard)
        wrong = result.substitutions + result.deletions + result.insertions
        edits, chars = edits + wrong, chars + len(reference)
        rows.append((clip["id"], wrong / len(reference), language, text))
    return {
        "cer": edits / chars,
        "rows": rows,
        "rtf": (time.perf_counter() - started) / audio_s,
        "audio_s": audio_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--language", default="th", help="th, or auto (detected)")
    parser.add_argument("--systems", default="plain,batch,live,tiny.en")
    parser.add_argument("--manifest", default=str(MANIFEST))
    args = parser.parse_args()
    clips = json.loads(Path(args.manifest).read_text())["clips"]
    language = None if args.language == "auto" else args.language
    speakers = sum(c["speakers"] for c in clips)
    print(f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{len(clips)} clips, {speakers} voices, language {args.language}")
    for name, transcribe in systems(args.systems.split(","), language).items():
        result = score(clips, transcribe)
        print(f"\n{name}: CER {result['cer']:.1%} pooled, {result['rtf']:.2f} x real time")
        for clip_id, cer, heard_in, text in result["rows"]:
            print(f"  {clip_id:24s} {cer:6.1%}  [{heard_in}] {text.strip()[:70]}")


if __name__ == "__main__":
    main()
