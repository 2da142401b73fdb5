"""Audio a page sends again after its connection dropped: what was stored is not stored twice.

When the network goes (rather than the server process), the process that heard the utterance
may still finish and store it while the page, which never saw that final, sends the audio again
on its new connection. ``session.start`` ``backlog_ms`` dates the new session back by the audio
it sends at once, and the server skips finals that a live final of the same speaker covers.
"""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from meetings.models import Segment
from tests.base import communicator
from tests.speech import clip, word_error_rate

from .streaming import CHUNK_MS, collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

FIRST = clip("A_LS_1089-134691-0000")  # "He could wait no longer."
SECOND = clip("A_LS_61-70968-0000")  # "He began a confused complaint against the wizard ..."


async def speak(comm, pcm: bytes, rate: int, backlog_ms: int = 0, pace: float = 0) -> list[dict]:
    await comm.send_json_to(
        {"type": "session.start", "sample_rate": rate, "backlog_ms": backlog_ms}
    )
    await stream(comm, pcm, rate, pace=pace)
    await comm.send_json_to({"type": "session.stop"})
    return await collect(comm, lambda e: e["type"] == "session.stopped")


@database_sync_to_async
def stored_texts() -> list[str]:
    return list(Segment.objects.order_by("start_ms").values_list("text", flat=True))


async def test_a_final_sent_again_and_stored_before_is_not_stored_twice(live_cast):
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    first, rate = FIRST.pcm16()
    second, _ = SECOND.pcm16()
    pause = silence(1.0, rate)

    # The first connection hears the first sentence in real time and stores its final; the
    # page never sees it (the network went), and keeps the audio
    began = time.monotonic()
    await speak(comm, first + pause, rate, pace=CHUNK_MS / 1000)
    assert len(await stored_texts()) == 1

    # Back on a new connection, the page sends all it captured since, then goes on live
    held_s = time.monotonic() - began
    backlog = first + pause + silence(held_s - len(first + pause) / 2 / rate, rate)
    backlog_ms = round(len(backlog) / 2 / rate * 1000)
    events = await speak(comm, backlog + second + pause, rate, backlog_ms)

    stored = await stored_texts()
    assert len(stored) == 2, stored
    assert word_error_rate(FIRST.reference, stored[0]) <= 0.2
    assert word_error_rate(SECOND.reference, stored[1]) <= 0.2
    assert [f["text"] for f in of_type(events, "caption.final")] == [stored[1]]

    # Said without backlog_ms, the same audio is new speech, now: stored again
    await speak(comm, first + pause, rate)
    assert len(await stored_texts()) == 3
    await comm.disconnect()


async def test_the_lost_connection_stores_nothing_the_new_one_stored_first(live_cast):
    """The network went mid-sentence: the page reconnected and sent the sentence again, whose
    final was stored; the old process notices the broken connection only then, and flushes."""
    first, rate = FIRST.pcm16()
    pause = silence(1.0, rate)
    lost = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await lost.connect())[0]
    await lost.receive_json_from(timeout=5)
    await lost.send_json_to({"type": "session.start", "sample_rate": rate})
    began = time.monotonic()
    await stream(lost, first, rate, pace=CHUNK_MS / 1000)  # no pause: the utterance goes on

    again = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await again.connect())[0]
    await again.receive_json_from(timeout=5)
    held = silence(time.monotonic() - began - len(first) / 2 / rate, rate)
    backlog_ms = round(len(first + held) / 2 / rate * 1000)
    await speak(again, first + held + pause, rate, backlog_ms)
    assert len(await stored_texts()) == 1

    await lost.disconnect(code=1006)  # flushes its utterance, already stored by the other
    stored = await stored_texts()
    assert len(stored) == 1, stored
    assert word_error_rate(FIRST.reference, stored[0]) <= 0.2
    await again.disconnect()


async def test_backlog_ms_is_checked(live_cast):
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    for wrong in (-1, 30_001, "100", 1.5, True):
        await comm.send_json_to({"type": "session.start", "backlog_ms": wrong})
        events = await collect(comm, lambda e: e["type"] == "error", within=5)
        assert "backlog_ms" in events[-1]["message"], events[-1]
    await comm.disconnect()
