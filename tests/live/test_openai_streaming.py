"""The OpenAI engine with a streaming model (``gpt-realtime-whisper``) against the speech server.

These models refuse server VAD: the engine runs its own VAD on the audio it sends and commits
each utterance when the speaker pauses, while the server sends deltas as speech goes on. The
server is a separate process running the local Whisper (tests/speech_server.py), which
emulates the model as OpenAI runs it.
"""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from channels.db import database_sync_to_async

from meetings.models import Segment
from tests.base import communicator
from tests.sessions import Listener, speak
from tests.speech import clip, word_error_rate
from tests.speech_server import CHUNK, RATE, speech_24k
from transcription.engine_factory import engine_config
from transcription.engines.base import (
    EngineError,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from transcription.engines.openai.realtime import OpenAIRealtimeEngine

from .streaming import collect, of_type, silence, stream

UTTERANCE_WER_BOUND = 0.2


@pytest.fixture
def streaming(openai):
    openai.OPENAI_REALTIME_MODEL = "gpt-realtime-whisper"
    openai.OPENAI_REALTIME_DELAY = "low"
    return openai


def clips_with_pauses(names: list[str]) -> tuple[bytes, list[tuple[int, int]]]:
    """The clips at 24 kHz, 1.5 s of silence after each; each clip's span in ms."""
    audio, windows = b"", []
    for name in names:
        speech = speech_24k(name)
        windows.append((len(audio) // 48, (len(audio) + len(speech)) // 48))
        audio += speech + silence(1.5, RATE)
    return audio, windows


async def test_it_streams_partials_while_the_speaker_talks(streaming, caplog):
    names = ["A01_jfk_inaugural", "A_LS_1089-134691-0001"]  # JFK pauses between phrases
    audio, windows = clips_with_pauses(names)
    session = await OpenAIRealtimeEngine(engine_config("openai")).open(
        SessionConfig(language="en", silence_ms=500, prompt="Kennedy")
    )
    listener = Listener(session)
    await speak(session, audio, RATE, pace=0.1)  # real time
    await session.close()
    await asyncio.wait_for(listener.task, 5)

    assert "glossary is not used" in caplog.text
    assert not listener.of(EngineError)
    finals, started = listener.of(Final), listener.of(SpeechStarted)
    assert sorted(f.item_id for f in finals) == sorted(s.item_id for s in started)
    stopped = {s.item_id: s for s in listener.of(SpeechStopped)}
    for name, (start, end) in zip(names, windows, strict=True):
        mine = [f for f in finals if start - 500 <= f.start_ms < end]
        text = " ".join(f.text for f in mine)
        assert word_error_rate(clip(name).reference, text) <= UTTERANCE_WER_BOUND, (name, text)
        for final in mine:
            assert 0 < final.confidence <= 1
            assert start - 500 <= final.start_ms < final.end_ms <= end + 1500
    jfk = [f for f in finals if f.start_ms < windows[0][1]]
    assert len(jfk) >= 3, "a final at each of JFK's pauses"

    early = 0
    for final in finals:
        partials = [p for p in listener.of(Partial) if p.item_id == final.item_id]
        assert all(len(a.text) <= len(b.text) for a, b in pairwise(partials)), "partials grow"
        assert listener.arrival(partials[-1]) <= listener.arrival(final)
        if partials and listener.arrival(partials[0]) < listener.arrival(stopped[final.item_id]):
            early += 1
    # a very short phrase ("ask not") may be over before its first word is stable
    assert early >= len(finals) - 1, "partials come while the utterance is spoken"


async def test_it_commits_again_what_a_dead_server_had_not_answered(streaming, server):
    first, second = "A_LS_1089-134691-0000", "A_LS_61-70968-0000"
    session = await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig(language="en"))
    listener = Listener(session)
    await speak(session, speech_24k(first), RATE, pace=0.02)
    pause = silence(1.0, RATE)
    for offset in range(0, len(pause), CHUNK):
        await session.append(pause[offset : offset + CHUNK])
        await asyncio.sleep(0.005)
        if listener.of(SpeechStopped):
            break  # its commit is sent: the server is decoding it
    server.kill()
    assert not listener.of(Final), "killed before the final came"
    rest = speech_24k(second)
    half = len(rest) // 2 // CHUNK * CHUNK
    await speak(session, rest[:half], RATE, pace=0.02)
    await asyncio.to_thread(server.start)
    await speak(session, rest[half:] + silence(1.5, RATE), RATE, pace=0.02)
    await session.close()
    await asyncio.wait_for(listener.task, 5)

    assert not [e for e in listener.of(EngineError) if e.fatal]
    finals, started = listener.of(Final), listener.of(SpeechStarted)
    assert len(finals) == 2, finals
    assert [f.item_id for f in finals] == [s.item_id for s in started], "ids are kept"
    for name, final in zip((first, second), finals, strict=True):
        assert word_error_rate(clip(name).reference, final.text) <= UTTERANCE_WER_BOUND, final


async def test_it_captions_a_room_through_a_streaming_model(streaming, live_cast):
    streaming.TRANSCRIPTION_ENGINE = "openai"
    name = "A01_jfk_inaugural"
    pcm, rate = clip(name).pcm16()
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    await comm.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(comm, pcm + silence(1.0, rate), rate, pace=0.05)
    await comm.send_json_to({"type": "session.stop"})
    events = await collect(comm, lambda e: e["type"] == "session.stopped", within=60)
    await comm.disconnect()

    assert not of_type(events, "error"), events
    finals = of_type(events, "caption.final")
    assert len(finals) >= 2, finals
    text = " ".join(f["text"] for f in finals)
    assert word_error_rate(clip(name).reference, text) <= UTTERANCE_WER_BOUND, text
    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert [s.text for s in stored] == [f["text"] for f in finals]
    assert all(s.engine == "openai" and s.speaker_id == live_cast.bob.pk for s in stored)
