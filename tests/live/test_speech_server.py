"""The speech server speaks OpenAI's protocols, as the SDK's own types describe them.

Every event a real session with real speech gets is validated against
``TypeAdapter(openai.types.realtime.RealtimeServerEvent)``, and every batch answer against the
SDK's transcription types; the server runs as its own process, without Django.
"""

from __future__ import annotations

import base64
import io
import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
import srt
import webvtt
from openai import AsyncOpenAI
from openai.types.audio import (
    Transcription,
    TranscriptionDiarized,
    TranscriptionStreamEvent,
    TranscriptionVerbose,
)
from pydantic import TypeAdapter
from websockets.asyncio.client import connect

from tests.speech import clip, word_error_rate
from tests.speech_server import (
    API_KEY,
    AUTH,
    RATE,
    append_all,
    multipart,
    next_event,
    post,
    speech_24k,
    validated,
)
from transcription.engines.base import SessionConfig
from transcription.engines.openai.protocol import LOGPROBS, session_update

from .streaming import of_type, silence

UTTERANCE_WER_BOUND = 0.2


async def receive(ws, within: float = 30) -> dict[str, Any]:
    return validated(await next_event(ws, within))


async def receive_until(ws, kind: str, within: float = 60) -> list[dict[str, Any]]:
    events = [await receive(ws, within)]
    while events[-1]["type"] != kind:
        events.append(await receive(ws, within))
    return events


async def test_it_speaks_the_ga_transcription_protocol(server):
    async with connect(
        server.realtime_url + "?intent=transcription", additional_headers=AUTH
    ) as ws:
        created = await receive(ws)
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
        updated = await receive(ws)
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
            error = await receive(ws)
            assert error["type"] == "error", error
            assert error["error"]["type"] == "invalid_request_error"
            assert error["error"]["message"]
            assert (error["error"]["code"], error["error"]["param"]) == (code, param)
            assert error["error"]["event_id"] == event_id

        name = "A_LS_61-70968-0000"
        speech = speech_24k(name)
        await append_all(ws, speech + silence(1.5, RATE))
        events = await receive_until(ws, "conversation.item.input_audio_transcription.completed")
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
        streamed = "".join(d["delta"] for d in deltas)
        assert word_error_rate(completed["transcript"], streamed) <= UTTERANCE_WER_BOUND
        # deltas sent while the words were spoken carry no logprobs: only finals are scored
        for delta in (d for d in deltas if "logprobs" in d):
            assert [lp["token"] for lp in delta["logprobs"]] == [delta["delta"]]
            assert all(lp["logprob"] <= 0 for lp in delta["logprobs"])
            assert all(lp["bytes"] == list(lp["token"].encode()) for lp in delta["logprobs"])
        words = completed["transcript"].split()
        assert [lp["token"].strip() for lp in completed["logprobs"]] == words
        assert completed["usage"]["type"] == "tokens"
        assert completed["usage"]["output_tokens"] == len(words)
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
        updated = await receive(ws)
        assert updated["type"] == "session.updated", updated
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        assert updated["session"]["audio"]["input"]["transcription"] == echoed["transcription"]
        assert updated["session"]["include"] is None
        name = "A_LS_1089-134691-0000"
        await append_all(ws, speech_24k(name))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        events = await receive_until(ws, "conversation.item.input_audio_transcription.completed")
        assert not of_type(events, "input_audio_buffer.speech_started"), "no VAD"
        committed = of_type(events, "input_audio_buffer.committed")[0]
        assert committed["previous_item_id"] == item_id
        assert events[-1]["item_id"] == committed["item_id"] != item_id
        assert "logprobs" not in events[-1]
        assert all("logprobs" not in d for d in of_type(events, order[5]))
        assert (
            word_error_rate(clip(name).reference, events[-1]["transcript"]) <= UTTERANCE_WER_BOUND
        )


async def test_the_sdk_client_gets_only_sdk_events(server):
    """whisper-1 through the SDK's own connection, from OPENAI_BASE_URL alone."""
    name = "A_LS_61-70968-0000"
    speech = speech_24k(name) + silence(1.5, RATE)
    client = AsyncOpenAI(api_key=API_KEY, base_url=server.base_url)
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:

        async def until(kind: str) -> list[dict[str, Any]]:
            events = [validated(json.loads(await conn.recv_bytes()))]
            while events[-1]["type"] != kind:
                events.append(validated(json.loads(await conn.recv_bytes())))
            return events

        assert (await until("session.created"))[-1]["session"]["type"] == "transcription"
        transcription = {"model": "whisper-1", "language": "en"}
        detection = {"type": "server_vad", "silence_duration_ms": 500}
        await conn.session.update(
            session={
                "type": "transcription",
                "audio": {"input": {"transcription": transcription, "turn_detection": detection}},
            }
        )
        await until("session.updated")
        for offset in range(0, len(speech), 9600):
            chunk = base64.b64encode(speech[offset : offset + 9600]).decode()
            await conn.input_audio_buffer.append(audio=chunk)
        events = await until("conversation.item.input_audio_transcription.completed")
        await conn.input_audio_buffer.append(audio=base64.b64encode(silence(0.5, RATE)).decode())
        await conn.input_audio_buffer.clear()
        cleared = await until("input_audio_buffer.cleared")
    await client.close()

    deltas = of_type(events, "conversation.item.input_audio_transcription.delta")
    completed = events[-1]
    assert [d["delta"] for d in deltas] == [completed["transcript"]], "whisper-1: one delta"
    assert "logprobs" not in completed, "the session did not include them"
    assert completed["usage"]["type"] == "duration" and completed["usage"]["seconds"] > 0
    assert word_error_rate(clip(name).reference, completed["transcript"]) <= UTTERANCE_WER_BOUND
    assert [e["type"] for e in cleared] == ["input_audio_buffer.cleared"]


def test_batch_answers_are_sdk_types(server):
    name = "A_LS_61-70968-0000"
    data, reference = clip(name).path.read_bytes(), clip(name).reference
    url = server.base_url + "/audio/transcriptions"

    def ask(model: str, response_format: str, *fields: tuple[str, str]) -> Any:
        form = [("model", model), ("response_format", response_format), *fields]
        status, body = post(url, form, "speech.wav", data)
        assert status == 200, body
        return body

    plain = ask("gpt-4o-transcribe", "json", ("include[]", "logprobs"))
    TypeAdapter(Transcription).validate_python(plain)
    assert word_error_rate(reference, plain["text"]) <= UTTERANCE_WER_BOUND
    assert len(plain["logprobs"]) == len(plain["text"].split())

    words = [("timestamp_granularities[]", "word"), ("timestamp_granularities[]", "segment")]
    verbose = ask("whisper-1", "verbose_json", *words)
    TypeAdapter(TranscriptionVerbose).validate_python(verbose)
    assert verbose["language"] == "english" and verbose["usage"]["type"] == "duration"
    assert verbose["segments"] and verbose["words"]
    for segment in verbose["segments"]:
        assert 0 <= segment["start"] < segment["end"] <= verbose["duration"]
        assert 0 < segment["confidence"] <= 1

    diarized = ask("gpt-4o-transcribe-diarize", "diarized_json")
    TypeAdapter(TranscriptionDiarized).validate_python(diarized)

    stream = ask("gpt-4o-transcribe", "json", ("stream", "true"))
    lines = [json.loads(line) for line in stream.split("data: ") if line.strip()]
    for line in lines:
        TypeAdapter(TranscriptionStreamEvent).validate_python(line)
    assert [line["type"] for line in lines[-2:]] == [
        "transcript.text.delta",
        "transcript.text.done",
    ]
    assert lines[-1]["text"] == plain["text"]

    subtitles = srt.parse(ask("whisper-1", "srt"))
    assert " ".join(s.content for s in subtitles) == verbose["text"]
    captions = webvtt.from_buffer(io.StringIO(ask("whisper-1", "vtt")))
    assert " ".join(c.text for c in captions) == verbose["text"]
    assert ask("whisper-1", "text") == verbose["text"] + "\n"


async def test_it_runs_without_django_settings(speech_servers):
    """Not one module of Django's settings is imported, through a session and an upload."""
    process = speech_servers(python_flags=["-X", "importtime"])
    name = "A_LS_61-70968-0000"
    try:
        process.start()
        status, body = post(
            process.base_url + "/audio/transcriptions",
            [("model", "whisper-1")],
            "speech.wav",
            clip(name).path.read_bytes(),
        )
        assert status == 200, body
        async with connect(
            process.realtime_url + "?intent=transcription", additional_headers=AUTH
        ) as ws:
            await receive(ws)
            update = session_update(SessionConfig(language="en"), "gpt-4o-transcribe")
            await ws.send(json.dumps(update))
            await append_all(ws, speech_24k(name) + silence(1.5, RATE))
            await receive_until(ws, "conversation.item.input_audio_transcription.completed")
    finally:
        process.stop()

    log = process.log_path.read_text(errors="replace").splitlines()
    imported = {line.rpartition("|")[2].strip() for line in log if line.startswith("import time:")}
    assert "faster_whisper" in imported and "transcription.speech_server.session" in imported
    assert not [m for m in imported if m.startswith("django.conf")], "no Django settings"


def test_it_refuses_forms_it_cannot_read(server):
    url = server.base_url + "/audio/transcriptions"
    body, content_type = multipart([("model", "whisper-1")], "a.wav", b"RIFF")

    def send(data: bytes, kind: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            url, data=data, method="POST", headers={**AUTH, "Content-Type": kind}
        )
        with pytest.raises(urllib.error.HTTPError) as refused, urllib.request.urlopen(request):
            pass
        with refused.value as answer:
            return answer.code, json.loads(answer.read())

    status, answer = send(body[: len(body) // 2], content_type)
    assert (status, answer["error"]["message"]) == (400, "Could not parse multipart form.")
    status, answer = send(b'{"model": "whisper-1"}', "application/json")
    assert (status, answer["error"]["code"]) == (400, "unsupported_content_type")
