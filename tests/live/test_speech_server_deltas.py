"""The speech server sends transcription deltas while speech goes on, as OpenAI's streaming
models do: with server VAD before each utterance's ``speech_stopped``; with
``gpt-realtime-whisper`` and no turn detection before the client's commit, under the id that
commit reports.

Real speech at real pace into the real server process; every event validated by the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.client import connect

from tests.speech import clip, normalise, word_error_rate
from tests.speech_server import (
    AUTH,
    RATE,
    Recorder,
    append_in_real_time,
    next_event,
    speech_24k,
    validated,
)

from .streaming import of_type, silence

UTTERANCE_WER_BOUND = 0.2
DELTA = "conversation.item.input_audio_transcription.delta"
COMPLETED = "conversation.item.input_audio_transcription.completed"


def configure(transcription: dict[str, Any], turn_detection: dict | None) -> str:
    return json.dumps(
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {
                    "input": {"transcription": transcription, "turn_detection": turn_detection}
                },
                "include": ["item.input_audio_transcription.logprobs"],
            },
        }
    )


@contextlib.asynccontextmanager
async def session(server, transcription: dict[str, Any], turn_detection: dict | None):
    """A configured session, and the recorder of what it hears from here on."""
    async with connect(
        server.realtime_url + "?intent=transcription", additional_headers=AUTH
    ) as ws:
        assert validated(await next_event(ws))["type"] == "session.created"
        await ws.send(configure(transcription, turn_detection))
        updated = validated(await next_event(ws))
        assert updated["type"] == "session.updated", updated
        recorder = Recorder(ws)
        task = asyncio.create_task(recorder.run())
        try:
            yield ws, recorder
        finally:
            task.cancel()


def index(events: list[dict], kind: str, item_id: str) -> int:
    return next(i for i, e in enumerate(events) if e["type"] == kind and e["item_id"] == item_id)


def check_stream(deltas: list[dict], transcript: str) -> str:
    """The deltas append whole words to one another; their text is close to the transcript."""
    assert deltas, "no delta"
    texts = [d["delta"] for d in deltas]
    assert texts[0] == texts[0].strip()
    assert all(t.startswith(" ") and t.strip() for t in texts[1:]), texts
    streamed = "".join(texts)
    assert word_error_rate(transcript, streamed) <= UTTERANCE_WER_BOUND, (streamed, transcript)
    return streamed


async def test_it_streams_deltas_of_an_utterance_before_speech_stops(server):
    names = ["A_LS_61-70968-0000", "A_LS_1089-134691-0001"]
    transcription = {"model": "gpt-4o-transcribe", "language": "en"}
    detection = {"type": "server_vad", "silence_duration_ms": 500}
    async with session(server, transcription, detection) as (ws, heard):
        audio = b"".join(speech_24k(name) + silence(1.5, RATE) for name in names)
        await append_in_real_time(ws, audio)
        await heard.until(lambda events: len(of_type(events, COMPLETED)) == len(names))
        seen = len(heard.events)
        await append_in_real_time(ws, silence(1.0, RATE))
        await asyncio.sleep(0.5)
    events = [validated(e) for e in heard.events]
    assert not of_type(events[seen:], DELTA), "no delta after the last completed"

    started = of_type(events, "input_audio_buffer.speech_started")
    assert len(started) == len(names)
    assert {d["item_id"] for d in of_type(events, DELTA)} <= {s["item_id"] for s in started}
    for name, start in zip(names, started, strict=True):
        item_id = start["item_id"]
        deltas = [e for e in of_type(events, DELTA) if e["item_id"] == item_id]
        stopped = index(events, "input_audio_buffer.speech_stopped", item_id)
        completed_at = index(events, COMPLETED, item_id)
        completed = events[completed_at]
        spoken = [d for d in deltas if events.index(d) < stopped]
        assert spoken, "deltas while the speaker talks"
        assert all("logprobs" not in d for d in spoken), "partial words are not scored"
        assert events.index(deltas[-1]) < completed_at, "no delta after completed"
        check_stream(deltas, completed["transcript"])
        assert word_error_rate(clip(name).reference, completed["transcript"]) <= UTTERANCE_WER_BOUND
        assert len(completed["logprobs"]) == len(completed["transcript"].split())


async def test_gpt_realtime_whisper_streams_before_the_commit(server):
    """Turn detection off: deltas under the id the commit reports; one completed per commit."""
    names = ["A01_jfk_inaugural", "A_LS_1089-134691-0000"]  # JFK: several pauses, one commit
    transcription = {"model": "gpt-realtime-whisper", "language": "en", "delay": "medium"}
    commits_sent_at: list[int] = []  # how many events had arrived when each commit went out
    async with session(server, transcription, None) as (ws, heard):
        for name in names:
            await append_in_real_time(ws, speech_24k(name) + silence(1.0, RATE))
            commits_sent_at.append(len(heard.events))
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await heard.until(lambda events: len(of_type(events, COMPLETED)) == len(names))
        seen = len(heard.events)
        await append_in_real_time(ws, silence(0.5, RATE))
        await asyncio.sleep(0.5)
    events = [validated(e) for e in heard.events]
    assert not of_type(events[seen:], DELTA)
    assert not of_type(events, "input_audio_buffer.speech_started"), "no turn detection"

    committed = of_type(events, "input_audio_buffer.committed")
    completed = of_type(events, COMPLETED)
    assert [c["item_id"] for c in completed] == [c["item_id"] for c in committed]
    assert committed[0]["previous_item_id"] is None
    assert committed[1]["previous_item_id"] == committed[0]["item_id"]
    assert {d["item_id"] for d in of_type(events, DELTA)} <= {c["item_id"] for c in committed}
    after_last = 0  # where the previous commit's events end
    for name, commit, sent_at in zip(names, committed, commits_sent_at, strict=True):
        item_id = commit["item_id"]
        before = of_type(events[after_last:sent_at], DELTA)
        assert before, "deltas before the commit"
        assert {d["item_id"] for d in before} == {item_id}, "under the id the commit reports"
        done_at = index(events, COMPLETED, item_id)
        deltas = [d for d in of_type(events, DELTA) if d["item_id"] == item_id]
        assert events.index(deltas[-1]) < done_at, "no delta after completed"
        transcript = events[done_at]["transcript"]
        check_stream(deltas, transcript)
        assert word_error_rate(clip(name).reference, transcript) <= UTTERANCE_WER_BOUND
        after_last = done_at + 1
    # the whole commit, pauses and all, in one transcript
    assert normalise(completed[0]["transcript"]).startswith("and so my fellow americans")
    assert normalise(completed[0]["transcript"]).endswith("what you can do for your country")


async def test_streaming_models_refuse_what_openai_refuses(server):
    async with connect(
        server.realtime_url + "?intent=transcription", additional_headers=AUTH
    ) as ws:
        created = validated(await next_event(ws))
        default_detection = created["session"]["audio"]["input"]["turn_detection"]

        async def update(input_: dict[str, Any], event_id: str) -> dict[str, Any]:
            event = {"type": "session.update", "event_id": event_id}
            event["session"] = {"type": "transcription", "audio": {"input": input_}}
            await ws.send(json.dumps(event))
            return validated(await next_event(ws))

        whisper = {"model": "gpt-realtime-whisper"}
        error = await update({"transcription": whisper}, "vad")  # server VAD is the default
        assert error["type"] == "error"
        assert error["error"] == {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Turn detection is not supported for this transcription model.",
            "param": "session.audio.input.turn_detection",
            "event_id": "vad",
        }
        prompted = {**whisper, "prompt": "Gutenberg"}
        error = await update({"transcription": prompted, "turn_detection": None}, "prompt")
        assert error["error"]["code"] == "unsupported_parameter"
        assert error["error"]["param"] == "session.audio.input.transcription.prompt"
        error = await update({"transcription": {**whisper, "delay": "bogus"}}, "delay")
        assert error["error"] == {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Invalid value: 'bogus'. Supported values are: 'minimal', 'low', "
            "'medium', 'high', and 'xhigh'.",
            "param": "session.audio.input.transcription.delay",
            "event_id": "delay",
        }
        # a refused update changed nothing; a good one is echoed without its delay
        fine = {"transcription": {**whisper, "delay": "low"}, "turn_detection": None}
        updated = await update(fine, "fine")
        assert updated["type"] == "session.updated"
        assert default_detection is not None
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        assert updated["session"]["audio"]["input"]["transcription"] == {
            "model": "gpt-realtime-whisper",
            "language": None,
            "prompt": None,
        }
        error = await update({"turn_detection": {"type": "server_vad"}}, "vad-later")
        assert error["error"]["param"] == "session.audio.input.turn_detection"
