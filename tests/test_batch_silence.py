"""A muted stretch of a recording is not sent to the engine.

A chunk of digital silence holds nothing to transcribe, yet the local engine's speech detector
took a second for every five minutes of it (three passes), and a paid engine charges for it.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest

from transcription.audio import WHISPER_SAMPLE_RATE, float_to_pcm16
from transcription.batch.files import is_digital_silence, transcribe_file
from transcription.engines.base import BatchEngine, Transcript, TranscriptSegment

CHUNK_SECONDS = 10


class CountingEngine(BatchEngine):
    """Says "a tone" over the whole of every chunk it is given, and keeps what it was given."""

    name = "counting"

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def transcribe(self, audio, *, language="en", prompt="", progress=None) -> Transcript:
        self.chunks.append(audio)
        end_ms = audio.size * 1000 // WHISPER_SAMPLE_RATE
        return Transcript([TranscriptSegment(0, end_ms, "a tone", -0.1, [])], language)


def seconds(n: float) -> int:
    return int(n * WHISPER_SAMPLE_RATE)


@pytest.fixture
def muted_meeting(tmp_path):
    """35 s of digital silence, 5 s of a tone, 30 s of silence with a resampler's dither."""
    rng = np.random.default_rng(7)
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(seconds(5)) / WHISPER_SAMPLE_RATE)
    dither = rng.integers(-1, 2, seconds(30)) / 32768
    audio = np.concatenate([np.zeros(seconds(35)), tone, dither]).astype(np.float32)
    path = tmp_path / "muted.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(WHISPER_SAMPLE_RATE)
        wav.writeframes(float_to_pcm16(audio))
    return path


def test_it_sends_only_the_chunks_that_hold_sound(muted_meeting):
    engine = CountingEngine()
    reported: list[float] = []
    transcript, length = transcribe_file(
        engine, muted_meeting, language="en", progress=reported.append, chunk_seconds=CHUNK_SECONDS
    )

    assert length == pytest.approx(70, abs=0.01)
    assert 1 <= len(engine.chunks) <= 2  # the tone's chunk (and its neighbour if cut within it)
    assert sum(chunk.size for chunk in engine.chunks) <= seconds(2 * CHUNK_SECONDS)
    # what was said stays on the file's clock: the tone is at 35-40 s
    assert transcript.segments and all(
        s.start_ms < 40_000 and s.end_ms > 35_000 for s in transcript.segments
    )
    assert reported == sorted(reported) and reported[-1] == 100.0


def test_a_quiet_voice_is_not_silence():
    quiet = 10 ** (-60 / 20) * np.sin(np.arange(seconds(1)) / 3)  # a far voice, −60 dBFS
    assert not is_digital_silence(quiet.astype(np.float32))
    assert is_digital_silence(np.zeros(seconds(1), np.float32))
    assert is_digital_silence(np.zeros(0, np.float32))
