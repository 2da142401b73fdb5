"""The OpenAI engines against `manage.py realtime_server`, the OpenAI-compatible local server.

OpenAI is not reachable from here, so the server the project ships for moving speech work to
other hosts stands in for it: real speech, a real socket, a separate process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from meetings.models import Segment
from tests.base import communicator
from tests.servers import ROOT, free_port
from tests.speech import clip, word_error_rate
from transcription.audio import pcm16_to_float
from transcription.engine_factory import engine_config
from transcription.engines.base import (
    EngineError,
    EngineUnavailable,
    Final,
    Partial,
    SessionConfig,
    SpeechStarted,
)
from transcription.engines.openai_batch import (
    OpenAIBatchEngine,
    OpenAITranscriptionError,
    multipart,
    wav_bytes,
)
from transcription.engines.openai_realtime import (
    LOGPROBS,
    OpenAIRealtimeEngine,
    session_update,
)

from .streaming import at_rate, collect, of_type, silence, stream

API_KEY = "sk-test-realtime-server-0001"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
RATE = 24000
CHUNK = RATE * 2 // 10  # 100 ms of 24 kHz PCM16
UTTERANCE_WER_BOUND = 0.2
BATCH_WER_BOUND = 0.1


class RealtimeServerProcess:
    """`manage.py realtime_server` on a fixed port, which can be killed and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.realtime_url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        self.process: subprocess.Popen | None = None
        (ROOT / "var").mkdir(exist_ok=True)
        self.log = open(ROOT / "var" / f"realtime-server-{self.port}.log", "ab")  # noqa: SIM115

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "realtime_server",
                "--port",
                str(self.port),
                "--api-key",
                API_KEY,
            ],
            cwd=ROOT,
            env=dict(os.environ, DJANGO_SETTINGS_MODULE="config.test_settings"),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"realtime_server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        """A crash: no close frames, the sockets just drop."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server():
    process = RealtimeServerProcess()
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture
def openai(settings, server):
    """The OpenAI settings, pointed at the server."""
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_REALTIME_ENDPOINT = server.realtime_url
    settings.OPENAI_REALTIME_MODEL = "gpt-4o-transcribe"
    settings.OPENAI_BATCH_MODEL = "gpt-4o-transcribe"
    return settings


def speech_24k(name: str) -> bytes:
    pcm, rate = clip(name).pcm16()
    return at_rate(pcm, rate, RATE)


class Listener:
    """Collects a session's events with the time each arrived."""

    def __init__(self, session) -> None:
        self.events: list[tuple[float, Any]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._listen(session))

    async def _listen(self, session) -> None:
        async for event in session.events():
            self.events.append((time.monotonic(), event))
            self.arrived.set()

    async def first(self, kind, within: float = 10):
        async with asyncio.timeout(within):
            while not self.of(kind):
                self.arrived.clear()
                await self.arrived.wait()
        return self.of(kind)[0]

    def of(self, kind) -> list:
        return [event for _, event in self.events if isinstance(event, kind)]

    def arrival(self, event) -> float:
        return next(at for at, e in self.events if e is event)


async def speak(session, pcm: bytes, pace: float) -> float:
    """Append 100 ms chunks on a schedule (`pace` seconds per chunk); returns the end time."""
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(pcm), CHUNK)):
        await session.append(pcm[offset : offset + CHUNK])
        await asyncio.sleep(max(0.0, start + (n + 1) * pace - time.monotonic()))
    return time.monotonic()


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
    await speak(session, audio, pace=0.1)  # real time
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
        assert latency < 5.0

    for final in finals:
        partials = [p for p in listener.of(Partial) if p.item_id == final.item_id]
        assert partials, "deltas come before the transcript completes"
        assert all(len(a.text) <= len(b.text) for a, b in pairwise(partials)), "partials grow"
        assert listener.arrival(partials[-1]) <= listener.arrival(final)


async def next_event(ws, within: float = 30) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


async def events_until(ws, kind: str, within: float = 60) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while not events or events[-1]["type"] != kind:
            events.append(await next_event(ws, within))
    return events


async def append_all(ws, pcm: bytes) -> None:
    for offset in range(0, len(pcm), 2 * CHUNK):
        chunk = pcm[offset : offset + 2 * CHUNK]
        audio = base64.b64encode(chunk).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))


async def test_it_speaks_the_ga_transcription_protocol(server):
    async with connect(
        server.realtime_url + "?intent=transcription", additional_headers=AUTH
    ) as ws:
        created = await next_event(ws)
        assert created["type"] == "session.created"
        assert created["session"]["type"] == "transcription"
        assert created["session"]["object"] == "realtime.transcription_session"
        assert re.fullmatch(r"sess_\w+", created["session"]["id"])
        assert created["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": RATE}
        assert created["session"]["audio"]["input"]["transcription"] is None

        update = session_update(
            SessionConfig(
                language="en", prompt="Wizard", silence_ms=500, noise_reduction="near_field"
            ),
            "gpt-4o-transcribe",
        )
        await ws.send(json.dumps({**update, "event_id": "evt_configure"}))
        updated = await next_event(ws)
        assert updated["type"] == "session.updated"
        echoed = updated["session"]["audio"]["input"]
        sent = update["session"]["audio"]["input"]
        assert echoed["transcription"] == {
            "model": "gpt-4o-transcribe",
            "language": "en",
            "prompt": "Wizard",
        }
        assert echoed["turn_detection"] == sent["turn_detection"]
        assert echoed["noise_reduction"] == {"type": "near_field"}
        assert echoed["format"] == {"type": "audio/pcm", "rate": RATE}
        assert updated["session"]["include"] == [LOGPROBS]

        # each mistake gets one error, with OpenAI's code and the client's event id
        mistakes = [
            (b"\x00\x01", "invalid_event", None, None),
            ("{not json", "invalid_json", None, None),
            (
                {"type": "transcription_session.update", "event_id": "e1", "session": {}},
                "invalid_value",
                "type",
                "e1",
            ),
            (
                {
                    "type": "session.update",
                    "event_id": "e2",
                    "session": {
                        "type": "transcription",
                        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
                    },
                },
                "integer_below_min_value",
                "session.audio.input.format.rate",
                "e2",
            ),
            (
                {"type": "session.update", "event_id": "e3", "session": {"audio": {}}},
                "missing_required_parameter",
                "session.type",
                "e3",
            ),
            (
                {
                    "type": "session.update",
                    "event_id": "e4",
                    "session": {"type": "transcription", "tools": []},
                },
                "unknown_parameter",
                "session.tools",
                "e4",
            ),
            (
                {"type": "input_audio_buffer.commit", "event_id": "e5"},
                "input_audio_buffer_commit_empty",
                None,
                "e5",
            ),
        ]
        for message, code, param, event_id in mistakes:
            await ws.send(message if isinstance(message, bytes | str) else json.dumps(message))
            error = await next_event(ws)
            assert error["type"] == "error", error
            assert error["error"]["type"] == "invalid_request_error"
            assert error["error"]["message"]
            assert (error["error"]["code"], error["error"]["param"]) == (code, param)
            assert error["error"]["event_id"] == event_id

        name = "A_LS_61-70968-0000"
        speech = speech_24k(name)
        await append_all(ws, speech + silence(1.5, RATE))
        events = await events_until(ws, "conversation.item.input_audio_transcription.completed")
        kinds = [e["type"] for e in events]
        order = [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
            "conversation.item.input_audio_transcription.delta",
            "conversation.item.input_audio_transcription.completed",
        ]
        assert [kinds.index(kind) for kind in order] == sorted(kinds.index(k) for k in order)
        assert all(re.fullmatch(r"event_[A-Za-z0-9]{22}", e["event_id"]) for e in events)
        started = of_type(events, order[0])[0]
        item_id = started["item_id"]
        assert re.fullmatch(r"item_[A-Za-z0-9]{22}", item_id)
        stopped, committed = of_type(events, order[1])[0], of_type(events, order[2])[0]
        assert stopped["item_id"] == committed["item_id"] == item_id
        assert committed["previous_item_id"] is None
        assert 0 <= started["audio_start_ms"] < stopped["audio_end_ms"]
        assert stopped["audio_end_ms"] <= (len(speech) // 48) + 1500
        for added in of_type(events, order[3]) + of_type(events, order[4]):
            assert added["previous_item_id"] is None
            assert added["item"] == {
                "id": item_id,
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
        deltas = of_type(events, order[5])
        completed = events[-1]
        assert {d["item_id"] for d in deltas} == {completed["item_id"]} == {item_id}
        assert "".join(d["delta"] for d in deltas) == completed["transcript"]
        for delta in deltas:
            assert [lp["token"] for lp in delta["logprobs"]] == [delta["delta"]]
            assert all(lp["logprob"] <= 0 for lp in delta["logprobs"])
            assert all(lp["bytes"] == list(lp["token"].encode()) for lp in delta["logprobs"])
        assert len(completed["logprobs"]) == len(deltas)
        assert completed["usage"]["type"] == "tokens"
        assert completed["usage"]["output_tokens"] == len(deltas)
        assert word_error_rate(clip(name).reference, completed["transcript"]) <= UTTERANCE_WER_BOUND

        # manual turns without logprobs: a partial update keeps the rest of the session
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {
                        "type": "transcription",
                        "audio": {"input": {"turn_detection": None}},
                        "include": None,
                    },
                }
            )
        )
        updated = await next_event(ws)
        assert updated["type"] == "session.updated", updated
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        assert updated["session"]["audio"]["input"]["transcription"] == echoed["transcription"]
        assert updated["session"]["include"] is None
        name = "A_LS_1089-134691-0000"
        await append_all(ws, speech_24k(name))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        events = await events_until(ws, "conversation.item.input_audio_transcription.completed")
        assert not of_type(events, "input_audio_buffer.speech_started"), "no VAD"
        committed = of_type(events, "input_audio_buffer.committed")[0]
        assert committed["previous_item_id"] == item_id
        assert events[-1]["item_id"] == committed["item_id"] != item_id
        assert "logprobs" not in events[-1]
        assert all("logprobs" not in d for d in of_type(events, order[5]))
        assert (
            word_error_rate(clip(name).reference, events[-1]["transcript"]) <= UTTERANCE_WER_BOUND
        )


async def test_it_reconnects_and_replays_when_the_server_dies(openai, server):
    name = "A_LS_1089-134691-0001"
    speech = speech_24k(name)
    half = len(speech) // 2 // CHUNK * CHUNK
    session = await OpenAIRealtimeEngine(engine_config("openai")).open(SessionConfig(language="en"))
    listener = Listener(session)
    await speak(session, speech[:half], pace=0.02)
    await listener.first(SpeechStarted)

    server.kill()  # mid-utterance
    await speak(session, speech[half:] + silence(1.5, RATE), pace=0.02)
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


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "whisper-1"])
def test_it_transcribes_a_recording(openai, model):
    openai.OPENAI_BATCH_MODEL = model
    speech = clip("A_LS_2412-153948-0000")
    pcm, rate = speech.pcm16()
    audio = pcm16_to_float(pcm)
    reported: list[float] = []

    transcript = OpenAIBatchEngine(engine_config("openai")).transcribe(
        audio, language="en", progress=reported.append
    )

    wer = word_error_rate(speech.reference, transcript.text)
    print(f"{model}: WER {wer:.3f} over {len(transcript.segments)} segment(s)")
    assert wer <= BATCH_WER_BOUND, transcript.text
    assert transcript.language == "en"
    assert reported[-1] == 100.0
    duration_ms = audio.size * 1000 // rate
    for segment in transcript.segments:
        assert 0 <= segment.start_ms < segment.end_ms <= duration_ms + 100
        assert 0 < segment.confidence <= 1
    if model == "whisper-1":  # verbose_json: the segments carry the timing
        assert transcript.segments[0].start_ms > 0


def post(url: str, fields: list[tuple[str, str]], filename: str, data: bytes):
    body, content_type = multipart(fields, filename, data)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={**AUTH, "Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_it_answers_bad_uploads_as_openai_does(openai, server):
    url = server.base_url + "/audio/transcriptions"
    wav = wav_bytes(np.zeros(16000, np.float32))

    status, body = post(url, [("model", "whisper-1")], "notes.txt", b"hello")
    assert status == 400
    assert body == {
        "error": {
            "message": "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', "
            "'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    status, body = post(url, [("model", "whisper-1")], "broken.wav", b"RIFF\x00\x00junk" * 50)
    assert status == 400
    assert body["error"]["param"] == "file"
    assert "corrupted or unsupported" in body["error"]["message"]
    fields = [("model", "gpt-4o-transcribe"), ("response_format", "verbose_json")]
    status, body = post(url, fields, "a.wav", wav)
    assert status == 400
    assert body["error"] == {
        "message": "response_format 'verbose_json' is not compatible with model "
        "'gpt-4o-transcribe'. Use 'json' or 'text' instead.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unsupported_value",
    }
    status, body = post(url, [("model", "whisper-1")], "huge.wav", bytes(26_300_000))
    assert status == 413
    assert body["error"]["type"] == "server_error"
    assert body["error"]["message"].startswith("Maximum content size limit (26214400) exceeded")

    # the engine raises with the server's message
    openai.OPENAI_BATCH_MODEL = "gpt-9-transcribe"
    with pytest.raises(OpenAITranscriptionError, match="`gpt-9-transcribe` does not exist") as info:
        OpenAIBatchEngine(engine_config("openai")).transcribe(np.zeros(16000, np.float32))
    assert (info.value.status, info.value.code) == (404, "model_not_found")


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
