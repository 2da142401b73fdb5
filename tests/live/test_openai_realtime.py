"""The OpenAI realtime engine against the project's speech server (see tests/speech_server.py).

The engine speaks through the official SDK; the server is a separate process running the local
Whisper, which these tests kill and start again.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import numpy as np
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from meetings.models import Segment
from tests.base import communicator
from tests.sessions import Listener, speak
from tests.speech import clip, word_error_rate
from tests.speech_server import API_KEY, AUTH, CHUNK, RATE, next_event, speech_24k
from transcription.engine_factory import engine_config
from transcription.engines.base import (
    EngineError,
    EngineUnavailable,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
)
from transcription.engines.openai.batch import OpenAIBatchEngine
from transcription.engines.openai.realtime import OpenAIRealtimeEngine

from .streaming import collect, of_type, silence, stream

UTTERANCE_WER_BOUND = 0.2


async def test_it_streams_one_final_per_utterance(openai):
    names = ["A_LS_1089-134691-0001", "A_LS_61-70968-0000"]
    audio = b""
    windows = []  # each clip's span on the session's audio clock
    for name in names:
        speech = speech_24k(name)
        windows.append((len(audio) // 48, (len(audio) + len(speech)) // 48))
        audio += speech + silence(1.5, RATE)
    session = await OpenAIRealtimeEngine(engine_config("openai")).open(
        SessionConfig(language="en", silence_ms=500)
    )
    listener = Listener(session)
    started_at = time.monotonic()
    spoken_at = await speak(session, audio, RATE, pace=0.1)  # real time
    await session.close()
    await asyncio.wait_for(listener.task, 5)

    finals = listener.of(Final)
    started = listener.of(SpeechStarted)
    assert not listener.of(EngineError)
    assert sorted(f.item_id for f in finals) == sorted(s.item_id for s in started), (
        "every utterance ends in exactly one final"
    )
    for name, (start, end) in zip(names, windows, strict=True):
        # an utterance starts up to prefix_padding_ms before its speech does
        mine = [f for f in finals if start - 500 <= f.start_ms < end]
        assert mine, f"no final for {name}"
        text = " ".join(f.text for f in mine)
        wer = word_error_rate(clip(name).reference, text)
        assert wer <= UTTERANCE_WER_BOUND, (name, text)
        for final in mine:
            assert 0 < final.confidence <= 1
            assert final.avg_logprob < 0
            assert start - 500 <= final.start_ms < final.end_ms <= end + 1500
        # audio_end_ms includes the 500 ms of silence the server VAD waits for
        speech_ended_at = started_at + (mine[-1].end_ms - 500) / 1000
        latency = listener.arrival(mine[-1]) - speech_ended_at
        print(f"{name}: WER {wer:.3f}, final {latency:.2f} s after the end of speech")
    # finals come while the speaker goes on, not when the session closes
    first_clip_final = [f for f in finals if f.start_ms < windows[0][1]][-1]
    assert listener.arrival(first_clip_final) < spoken_at

    for final in finals:
        partials = [p for p in listener.of(Partial) if p.item_id == final.item_id]
        assert partials, "deltas come before the transcript completes"
        assert all(len(a.text) <= len(b.text) for a, b in pairwise(partials)), "partials grow"
        assert listener.arrival(partials[-1]) <= listener.arrival(final)


async def test_it_reconnects_and_replays_when_the_server_dies(openai, server):
    name = "A_LS_1089-134691-0001"
    speech = speech_24k(name)
    half = len(speech) // 2 // CHUNK * CHUNK
    session = await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig(language="en"))
    listener = Listener(session)
    await speak(session, speech[:half], RATE, pace=0.02)
    await listener.first(SpeechStarted)

    server.kill()  # mid-utterance
    await speak(session, speech[half:] + silence(1.5, RATE), RATE, pace=0.02)
    await asyncio.to_thread(server.start)
    await session.close()
    await asyncio.wait_for(listener.task, 5)

    assert not [e for e in listener.of(EngineError) if e.fatal]
    finals = listener.of(Final)
    assert len(finals) == 1, finals
    assert finals[0].item_id == listener.of(SpeechStarted)[0].item_id, "the utterance keeps its id"
    assert word_error_rate(clip(name).reference, finals[0].text) <= UTTERANCE_WER_BOUND, finals
    assert 0 < finals[0].confidence <= 1


async def test_it_refuses_wrong_keys_and_urls(openai, server):
    openai.OPENAI_API_KEY = "sk-wrong-key-000000000"
    with pytest.raises(EngineUnavailable, match=r"invalid_api_key.*Incorrect API key provided"):
        await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig())
    with pytest.raises(EngineUnavailable, match=r"401.*Incorrect API key provided"):
        await asyncio.to_thread(
            OpenAIBatchEngine(engine_config("openai")).transcribe, np.zeros(16000, np.float32)
        )
    openai.OPENAI_API_KEY = ""
    with pytest.raises(EngineUnavailable, match="OPENAI_API_KEY is not set"):
        await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig())
    openai.OPENAI_API_KEY = API_KEY
    openai.OPENAI_REALTIME_ENDPOINT = server.base_url  # the SDK can only add /realtime to it
    with pytest.raises(EngineUnavailable, match="must end in /realtime"):
        await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig())

    # as at OpenAI, the upgrade succeeds; an error event and a close code follow
    url = server.realtime_url
    refusals = [
        (
            url + "?intent=transcription",
            {"Authorization": "Bearer sk-nope-0000"},
            "invalid_api_key",
            3000,
        ),
        (url + "?intent=transcription", {}, None, 3000),
        (url + "?intent=transcription&model=gpt-4o-transcribe", AUTH, "invalid_model", 4000),
        (url, AUTH, "missing_model", 4000),
        (
            url + "?intent=transcription",
            {**AUTH, "OpenAI-Beta": "realtime=v1"},
            "beta_api_shape_disabled",
            4000,
        ),
    ]
    for target, headers, code, close_code in refusals:
        async with connect(target, additional_headers=headers) as ws:
            error = await next_event(ws)
            assert error["type"] == "error"
            assert error["error"]["type"] == "invalid_request_error"
            assert error["error"]["code"] == code
            assert error["error"]["message"]
            with pytest.raises(ConnectionClosed):
                await next_event(ws)
            assert ws.close_code == close_code
            assert ws.close_reason == "invalid_request_error" + (f".{code}" if code else "")

    # browsers cannot send headers: the key comes as a subprotocol, "realtime" is echoed
    protocols = ["realtime", f"openai-insecure-api-key.{API_KEY}"]
    async with connect(url + "?intent=transcription", subprotocols=protocols) as ws:
        assert (await next_event(ws))["type"] == "session.created"
        assert ws.subprotocol == "realtime"


async def test_it_captions_a_room_through_the_openai_engine(openai, live_cast):
    openai.TRANSCRIPTION_ENGINE = "openai"
    name = "A_LS_1272-128104-0000"
    pcm, rate = clip(name).pcm16()
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    await comm.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(comm, pcm + silence(1.0, rate), rate)
    await comm.send_json_to({"type": "session.stop"})
    events = await collect(comm, lambda e: e["type"] == "session.stopped", within=60)
    await comm.disconnect()

    assert not of_type(events, "error"), events
    finals = of_type(events, "caption.final")
    text = " ".join(f["text"] for f in finals)
    assert word_error_rate(clip(name).reference, text) <= UTTERANCE_WER_BOUND, text
    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert [s.text for s in stored] == [f["text"] for f in finals]
    assert all(s.engine == "openai" and s.speaker_id == live_cast.bob.pk for s in stored)
    assert all(0 < s.confidence <= 1 and s.avg_logprob < 0 for s in stored)
