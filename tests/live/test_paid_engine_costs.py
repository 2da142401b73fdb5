"""Nobody runs up the operator's paid speech engine: its minutes have a budget per meeting and
per day, and new sessions on it a rate per user and per room.

Before the fix a room on the OpenAI engine was captioned for as long as anyone spoke, and a
client could open session after session. Through config.asgi.application, the OpenAI engine and
the project's speech server (tests/speech_server.py) standing in for OpenAI.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from meetings.models import Segment
from tests.base import communicator
from tests.speech import clip

from .streaming import collect, of_type, silence, stream

pytestmark = pytest.mark.asyncio

ROOM = "/ws/meetings/weekly-sync/"
NAME = "A_LS_1272-128104-0000"  # 5.9 s of speech


@pytest.fixture
def paid(openai):
    openai.TRANSCRIPTION_ENGINE = "openai"
    return openai


async def join(user):
    comm = await communicator(ROOM, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


def segments(meeting):
    return list(Segment.objects.for_meeting(meeting))


async def test_the_meetings_minutes_run_out_and_the_speaker_is_told(paid, live_cast):
    paid.PAID_ENGINE_MINUTES_PER_MEETING = 0.1  # 6 s
    pcm, rate = clip(NAME).pcm16()
    bob = await join(live_cast.bob)
    await bob.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(bob, pcm + silence(6.0, rate), rate, pace=0.02)
    got = await collect(bob, lambda e: e["type"] == "session.stopped", within=60)

    # the utterance said before the budget ran out is captioned and stored, then no more
    (error,) = of_type(got, "error")
    assert error["code"] == "budget_spent"
    assert error["message"] == (
        "This meeting has used its budget for captions by the paid speech engine (0.1 minutes), "
        "which the server's operator sets. Your microphone is not captioned; you are still in "
        "the room as a listener."
    )
    assert of_type(got, "caption.final")
    stored = await database_sync_to_async(segments)(live_cast.meeting)

    # a new session is refused before it opens anything upstream, for every speaker
    for user in (live_cast.bob, live_cast.alice):
        comm = bob if user == live_cast.bob else await join(user)
        await comm.send_json_to({"type": "session.start", "sample_rate": rate})
        await stream(comm, pcm + silence(1.0, rate), rate)
        more = await collect(comm, lambda e: e["type"] == "error", within=10)
        assert more[-1]["code"] == "budget_spent"
        assert more[-1]["message"].startswith("This meeting has used its budget")
        await comm.send_json_to({"type": "session.stop"})
        after = await collect(comm, lambda e: e["type"] == "session.stopped", within=10)
        assert not [e for e in more + after if e["type"].startswith(("caption", "speech"))]
        await comm.disconnect()
    assert await database_sync_to_async(segments)(live_cast.meeting) == stored


async def test_new_sessions_on_the_paid_engine_are_rate_limited(paid, live_cast):
    paid.PAID_ENGINE_SESSIONS_PER_MINUTE = 2
    pcm, rate = clip(NAME).pcm16()
    bob = await join(live_cast.bob)
    for _ in range(2):
        await bob.send_json_to({"type": "session.start", "sample_rate": rate})
        await stream(bob, pcm[: rate * 2], rate)
        await bob.send_json_to({"type": "session.stop"})
        got = await collect(bob, lambda e: e["type"] == "session.stopped", within=60)
        assert not of_type(got, "error"), got
    await bob.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(bob, pcm[: rate * 2], rate)
    (error,) = of_type(await collect(bob, lambda e: e["type"] == "error", within=10), "error")
    assert error["code"] == "rate_limited"
    assert error["message"].startswith(
        "Too many speaking sessions started in the last minute on this server's paid speech engine"
    )
    await bob.disconnect()
