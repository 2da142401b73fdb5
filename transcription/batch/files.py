"""Transcribing a file of any length in bounded memory: a few minutes of audio at a time.

The worker, the `transcribe` command and the speech server's batch endpoint decode a file in
chunks cut in pauses (:meth:`AudioFile.chunks`), hand each chunk to the batch engine, and put
the segments back on the file's clock. Peak memory is one chunk and what the engine needs for
it, whatever the file's length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ..audio import CHUNK_SECONDS, WHISPER_SAMPLE_RATE, AudioDecodeError, AudioFile, AudioTooLong
from ..engines.base import BatchEngine, ProgressCallback, Transcript, TranscriptSegment


def transcribe_file(
    engine: BatchEngine,
    source,
    *,
    language: str | None,
    prompt: str = "",
    progress: ProgressCallback | None = None,
    max_seconds: float | None = None,
    chunk_seconds: float = CHUNK_SECONDS,
) -> tuple[Transcript, float]:
    """The transcript of a file (a path or an open binary file) and its length in seconds.

    Raises :class:`AudioTooLong` once the audio goes past ``max_seconds``, whatever its header
    said, and :class:`AudioDecodeError` for anything that is not audio.
    """
    segments: list[TranscriptSegment] = []
    detected = None
    end = 0
    with AudioFile(source) as audio:
        declared = audio.declared_seconds
        if max_seconds is not None and declared is not None and declared > max_seconds:
            raise AudioTooLong(max_seconds)  # no need to find out the long way
        for start, samples in audio.chunks(max_seconds, chunk_seconds):
            end = start + samples.size
            report = chunk_progress(progress, start, samples.size, declared)
            if is_digital_silence(samples):
                if report:
                    report(100.0)
                continue
            transcript = engine.transcribe(
                samples, language=language, prompt=prompt, progress=report
            )
            offset_ms = start * 1000 // WHISPER_SAMPLE_RATE
            segments += [shifted(segment, offset_ms) for segment in transcript.segments]
            detected = detected or transcript.language
    if not end:
        raise AudioDecodeError("the file holds no audio samples")
    if progress:
        progress(100.0)
    return Transcript(segments, detected or language), end / WHISPER_SAMPLE_RATE


# Two steps of 16-bit audio: a muted stretch (zeros, or the dither a resampler leaves of them).
SILENT_PEAK = 2 / 32768


def is_digital_silence(samples: np.ndarray) -> bool:
    """Whether a chunk holds nothing but digital silence, as a muted stretch of a recording
    does. It is not sent to the engine: the speech detector would take a second for every five
    minutes of it to find nothing (three times, in the local engine), and a paid engine would
    charge for it."""
    return float(np.max(np.abs(samples), initial=0.0)) < SILENT_PEAK


def chunk_progress(
    progress: ProgressCallback | None, start: int, size: int, declared: float | None
) -> Callable[[float], None] | None:
    """A chunk's progress as progress through the file, whose length the header gives."""
    if progress is None or not declared:
        return None
    total = declared * WHISPER_SAMPLE_RATE

    def report(percent: float) -> None:
        progress(min(100.0, 100 * (start + size * percent / 100) / total))

    return report


def shifted(segment: TranscriptSegment, offset_ms: int) -> TranscriptSegment:
    """The segment (and its words) moved from its chunk's clock to the file's."""
    return dataclasses.replace(
        segment,
        start_ms=segment.start_ms + offset_ms,
        end_ms=segment.end_ms + offset_ms,
        words=[(w, a + offset_ms, b + offset_ms, p) for w, a, b, p in segment.words],
    )
