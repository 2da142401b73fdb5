"""One contract, every engine in the registry: the same assertions over real speech.

Realtime engines (``REALTIME_ENGINES``, and the OpenAI one again with a streaming model):
exactly one final per utterance that has speech, partials of an item only grow and come before
its final, item ids unique, timings monotonic and within the audio, confidences in (0, 1].
Batch engines (``BATCH_ENGINES``): segments in order and within the audio, confidences in
(0, 1] or unknown, text close to the reference.

The local engines run here; whisper.cpp runs its bundled model; the scripted engine, which the
tests not about speech use, says the clips' references in turn; the OpenAI engines talk to the
project's speech server, started as a process of its own (OpenAI is not reachable from CI).
"""

from __future__ import annotations

import asyncio
from itertools import pairwise

import numpy as np
import pytest

from tests.live.streaming import at_rate, silence
from tests.sessions import Listener, speak
from tests.speech import clip, word_error_rate
from tests.speech_server import API_KEY
from transcription.audio import WHISPER_SAMPLE_RATE, pcm16_to_float
from transcription.engine_factory import decode_slots, engine_config
from transcription.engines import BATCH_ENGINES, REALTIME_ENGINES, engine_class
from transcription.engines.base import (
    EngineError,
    Final,
    OpenAIConfig,
    Partial,
    SessionConfig,
    SpeechStarted,
)
from transcription.engines.scripted import ScriptedConfig

pytestmark = pytest.mark.usefixtures("whisper")

#: two utterances with a pause between them that every VAD hears
CLIPS = ["A_LS_61-70968-0000", "A_LS_1089-134691-0001"]
PAUSE_SECONDS = 1.5
WER_BOUND = 0.2
#: model timestamps are rounded to tens of milliseconds, and may end a little past the audio
TIMESTAMP_SLACK_MS = 100


#: the OpenAI engine once more with a streaming model: no server VAD, the engine commits
STREAMING = "openai:gpt-realtime-whisper"


def config_for(name: str, request) -> object:
    """The engine's config: from the settings, or (OpenAI) pointed at the speech server."""
    engine, _, model = name.partition(":")
    if engine == "scripted":  # it says what it is told: here, what the clips say
        return ScriptedConfig(lines=tuple(clip(name).reference for name in CLIPS))
    if engine != "openai":
        return engine_config(name)
    server = request.getfixturevalue("speech_server")
    return OpenAIConfig(
        api_key=API_KEY,
        base_url=server.base_url,
        realtime_endpoint=server.realtime_url,
        realtime_model=model or OpenAIConfig.realtime_model,
        batch_model="whisper-1",  # the model whose answers carry segment timestamps
    )


def speech(rate: int) -> tuple[bytes, list[tuple[int, int, str]]]:
    """The clips with pauses, as PCM16 at ``rate``; each clip's (start ms, end ms, reference)."""
    audio = b""
    spans = []
    for name in CLIPS:
        pcm, clip_rate = clip(name).pcm16()
        pcm = at_rate(pcm, clip_rate, rate)
        start = len(audio) * 1000 // (2 * rate)
        audio += pcm
        spans.append((start, len(audio) * 1000 // (2 * rate), clip(name).reference))
        audio += silence(PAUSE_SECONDS, rate)
    return audio, spans


@pytest.mark.parametrize("name", [*REALTIME_ENGINES, STREAMING])
async def test_every_realtime_engine_keeps_the_contract(name, request):
    engine_type = engine_class(name.partition(":")[0], "realtime")
    if name == "local":  # it decodes on the process's cores, through their scheduler
        engine = engine_type(config_for(name, request), decode_slots())
    else:
        engine = engine_type(config_for(name, request))
    rate = engine.input_sample_rate
    audio, spans = speech(rate)
    session = await engine.open(SessionConfig(language="en", silence_ms=500))
    listener = Listener(session)
    await speak(session, audio, rate, pace=0.02)
    await session.close()
    await asyncio.wait_for(listener.task, 30)

    assert not listener.of(EngineError)
    finals, started = listener.of(Final), listener.of(SpeechStarted)
    final_ids = [f.item_id for f in finals]
    assert len(set(final_ids)) == len(final_ids), "item ids are unique"
    assert sorted(final_ids) == sorted(s.item_id for s in started), "one final per utterance"
    audio_ms = len(audio) * 1000 // (2 * rate)
    for final in finals:
        assert 0 <= final.start_ms < final.end_ms <= audio_ms + TIMESTAMP_SLACK_MS
        assert 0 < final.confidence <= 1
    for before, after in pairwise(finals):  # in the order they came
        assert before.end_ms <= after.start_ms, "timings are monotonic"
    for start, end, reference in spans:
        said = " ".join(f.text for f in finals if start - 500 <= f.start_ms < end)
        assert word_error_rate(reference, said) <= WER_BOUND, (name, said)

    for final in finals:
        partials = [p for p in listener.of(Partial) if p.item_id == final.item_id]
        assert all(len(a.text) <= len(b.text) for a, b in pairwise(partials)), "partials grow"
        assert all(listener.arrival(p) <= listener.arrival(final) for p in partials)
    assert {p.item_id for p in listener.of(Partial)} <= set(final_ids)


@pytest.mark.parametrize("name", BATCH_ENGINES)
async def test_every_batch_engine_keeps_the_contract(name, request):
    engine = engine_class(name, "batch")(config_for(name, request))
    pcm, spans = speech(WHISPER_SAMPLE_RATE)
    samples = pcm16_to_float(pcm)
    reported: list[float] = []

    transcript = await asyncio.to_thread(
        engine.transcribe, samples, language="en", progress=reported.append
    )

    audio_ms = samples.size * 1000 // WHISPER_SAMPLE_RATE
    segments = transcript.segments
    assert segments
    assert [s.start_ms for s in segments] == sorted(s.start_ms for s in segments)
    for segment in segments:
        assert 0 <= segment.start_ms <= segment.end_ms <= audio_ms + TIMESTAMP_SLACK_MS
        assert segment.confidence is None or 0 < segment.confidence <= 1
    references = " ".join(reference for _, _, reference in spans)
    assert word_error_rate(references, transcript.text) <= WER_BOUND, (name, transcript.text)
    assert reported == sorted(reported) and reported[-1] == 100.0
    assert transcript.language == "en"
    assert np.isfinite([s.avg_logprob for s in segments if s.avg_logprob is not None]).all()
