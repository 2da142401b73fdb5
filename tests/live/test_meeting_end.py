"""A host ends the meeting while someone is speaking: what was being said is kept.

The real model, the real Redis layer and PostgreSQL: bob is in the middle of a sentence when
alice ends the meeting. His utterance is finished and stored once, his recording is closed, and
the audio he still sends is refused.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from meetings.models import Recording, Segment
from tests.base import communicator
from tests.speech import clip, word_error_rate

from .streaming import collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

SPEECH = clip("A_LS_1089-134691-0001")  # 5.4 s, the last word ends at 4.9 s


async def joined(user):
    comm = await communicator("/ws/meetings/weekly-sync/", user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def test_ending_mid_utterance_stores_its_final_once_and_closes_the_recording(live_cast):
    alice, bob = await joined(live_cast.alice), await joined(live_cast.bob)
    pcm, rate = SPEECH.pcm16()
    # cut where the last word ends: no pause, so the engine cannot have finished the utterance
    in_flight = pcm[: int(4.95 * rate) * 2]
    await bob.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(bob, in_flight, rate)
    # Sent faster than real time, the audio waits in bob's queue; the pong comes once all of it
    # reached the engine (a page sends as it speaks: at an end, only ~100 ms are in flight).
    await bob.send_json_to({"type": "ping"})
    heard = await collect(bob, lambda e: e["type"] == "pong", within=30)

    await alice.send_json_to({"type": "meeting.end"})
    heard += await collect(bob, lambda e: e["type"] == "session.stopped", within=60)
    kinds = [e["type"] for e in heard]
    # the end first (the page stops its microphone), then the utterance it cut short
    assert "caption.final" in kinds[kinds.index("meeting.ended") :]
    finals = of_type(heard, "caption.final")
    assert word_error_rate(SPEECH.reference, " ".join(f["text"] for f in finals)) <= 0.2

    # audio sent after the end is refused, once
    for _ in range(3):
        await bob.send_to(bytes_data=silence(0.1, rate))
    await bob.send_json_to({"type": "ping"})
    after = await collect(bob, lambda e: e["type"] == "pong", within=10)
    assert [e["code"] for e in of_type(after, "error")] == ["meeting_ended"]
    # alice heard the same finals as bob
    alice_heard = await collect(alice, lambda e: e["type"] == "caption.final", within=10)
    assert of_type(alice_heard, "meeting.ended")
    for comm in (alice, bob):
        await comm.disconnect()

    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert [s.item_id for s in stored] == [f["item_id"] for f in finals]  # each once
    recordings = await database_sync_to_async(list)(
        Recording.objects.filter(meeting=live_cast.meeting)
    )
    assert len(recordings) == 1
    # closed with the whole utterance in it (the recording is at the engine's rate)
    assert recordings[0].duration_ms >= 4900
