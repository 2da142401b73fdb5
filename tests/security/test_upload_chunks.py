"""Long files are transcribed in chunks cut in pauses, on one continuous clock.

The worker's memory is bounded by transcribing a few minutes at a time. Here the chunks are made
20 s long so that five clips of speech, with pauses between them, span several: every cut must
fall in a pause, and every word must keep its place on the file's clock.
"""

from __future__ import annotations

import wave
from itertools import pairwise

import numpy as np
import pytest

from tests.speech import clip, word_error_rate
from tests.speech_server import API_KEY, SpeechServerProcess
from transcription.audio import WHISPER_SAMPLE_RATE, AudioFile, decode_file, float_to_pcm16
from transcription.batch.files import transcribe_file
from transcription.engine_factory import batch_engine

pytestmark = pytest.mark.usefixtures("whisper")

NAMES = [
    "A_LJ001-0001",
    "A_LJ001-0003",
    "A_LJ001-0005",
    "A_LJ001-0007",
    "A_LS_1089-134686-0000",
]
PAUSE_SECONDS = 2.0
CHUNK_SECONDS = 20


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """A WAV of the clips with pauses between them; (path, [(start s, end s, reference)])."""
    pause = np.zeros(int(PAUSE_SECONDS * WHISPER_SAMPLE_RATE), np.float32)
    parts, spans, at = [], [], 0.0
    for name in NAMES:
        samples = decode_file(clip(name).path)
        spans.append((at, at + samples.size / WHISPER_SAMPLE_RATE, clip(name).reference))
        parts += [samples, pause]
        at += (samples.size + pause.size) / WHISPER_SAMPLE_RATE
    path = tmp_path_factory.mktemp("speech") / "five-clips.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(WHISPER_SAMPLE_RATE)
        wav.writeframes(float_to_pcm16(np.concatenate(parts[:-1])))
    return path, spans


def test_it_cuts_every_chunk_in_a_pause(speech):
    path, spans = speech
    with AudioFile(path) as audio:
        chunks = [(start, samples.size) for start, samples in audio.chunks(None, CHUNK_SECONDS)]
    assert len(chunks) >= 4
    for (start, size), (next_start, _) in pairwise(chunks):
        assert start + size == next_start and size <= CHUNK_SECONDS * WHISPER_SAMPLE_RATE
        cut = next_start / WHISPER_SAMPLE_RATE
        assert any(end < cut < next_begin for (_, end, _), (next_begin, _, _) in pairwise(spans))


@pytest.fixture(scope="module")
def speech_server():
    """OpenAI stands in as the project's OpenAI-compatible server, as in the live tests."""
    server = SpeechServerProcess()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("engine", ["local", "whispercpp", "openai"])
def test_it_keeps_every_word_in_its_place_across_chunks(speech, engine, request, settings):
    path, spans = speech
    if engine == "openai":
        settings.OPENAI_API_KEY = API_KEY
        settings.OPENAI_BASE_URL = request.getfixturevalue("speech_server").base_url
        settings.OPENAI_BATCH_MODEL = "whisper-1"  # the model that gives segment timestamps
    reported: list[float] = []
    transcript, seconds = transcribe_file(
        batch_engine(engine),
        path,
        language="en",
        progress=reported.append,
        chunk_seconds=CHUNK_SECONDS,
    )
    assert seconds == pytest.approx(spans[-1][1], abs=0.01)
    assert reported == sorted(reported) and reported[-1] == 100.0
    starts = [s.start_ms for s in transcript.segments]
    assert starts == sorted(starts)
    for begin, end, reference in spans:
        # the segments placed within this clip's time say this clip's words
        said = " ".join(
            s.text
            for s in transcript.segments
            if begin - 0.5 <= (s.start_ms + s.end_ms) / 2000 <= end + 0.5
        )
        assert word_error_rate(reference, said) <= 0.2, (begin, said)
    words = [w for s in transcript.segments for w in s.words]  # whisper.cpp gives none
    for word, word_start, word_end, _ in words:
        middle = (word_start + word_end) / 2000
        assert any(begin - 0.5 <= middle <= end + 0.5 for begin, end, _ in spans), word
