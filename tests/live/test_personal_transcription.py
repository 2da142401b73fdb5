"""/ws/realtime/transcribe: captions go back to the sender and into their own transcript."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from meetings.models import Meeting, Segment
from tests.base import communicator
from tests.speech import clip, word_error_rate

from .streaming import collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]


async def test_it_captions_for_the_sender_only(live_cast):
    pcm, rate = clip("A_LS_1089-134691-0000").pcm16()
    own = await communicator("/ws/realtime/transcribe", live_cast.charlie)
    other = await communicator("/ws/realtime/transcribe", live_cast.alice)
    for comm in (own, other):
        assert (await comm.connect())[0]
        ready = await comm.receive_json_from(timeout=5)
        assert ready["type"] == "session.ready"
    assert ready["meeting"]["slug"] == f"personal-{live_cast.alice.pk}"

    await own.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(own, pcm + silence(1.0, rate), rate)
    await own.send_json_to({"type": "session.stop"})
    events = await collect(own, lambda e: e["type"] == "session.stopped")
    final = of_type(events, "caption.final")[0]
    assert word_error_rate(clip("A_LS_1089-134691-0000").reference, final["text"]) <= 0.2
    assert await other.receive_nothing(timeout=0.5)

    meeting = await database_sync_to_async(Meeting.personal_for)(live_cast.charlie)
    stored = await database_sync_to_async(Segment.objects.get)(pk=final["segment_id"])
    assert stored.meeting_id == meeting.pk and stored.text == final["text"]
    for comm in (own, other):
        await comm.disconnect()
