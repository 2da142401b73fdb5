"""Commits (and stops) that end an utterance early are limited per user.

Each one starts a beam-5 decode. Before the fix they were free: a few sockets sending "a little
speech, commit" in a loop took the cores from every room's finals.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.base import communicator
from tests.live.streaming import collect, stream
from tests.speech import clip

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

SPEECH = clip("A_LS_1089-134691-0000")


async def joined(user):
    comm = await communicator("/ws/meetings/weekly-sync/", user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def commit_in_a_loop(comm, times: int) -> list[dict]:
    """A little speech, then a commit, again and again; the errors it earned."""
    pcm, rate = SPEECH.pcm16()
    await comm.send_json_to({"type": "session.start", "sample_rate": rate})
    piece = rate * 2 // 2  # half a second of speech
    for n in range(times):
        await stream(comm, pcm[n * piece : (n + 1) * piece], rate)
        await comm.send_json_to({"type": "input_audio_buffer.commit"})
    await comm.send_json_to({"type": "session.stop"})
    events = await collect(comm, lambda e: e["type"] == "session.stopped")
    return [e for e in events if e["type"] == "error"]


@override_settings(CAPTIONS_MAX_COMMITS_PER_MINUTE=4)
async def test_commits_past_the_limit_are_refused_for_that_user_only(live_cast):
    bob = await joined(live_cast.bob)
    errors = await commit_in_a_loop(bob, 8)
    # four commits pass; the other four, and the stop, are refused
    assert [e["code"] for e in errors] == ["rate_limited"] * 5
    assert "commits and stops" in errors[0]["message"]
    await bob.disconnect()

    alice = await joined(live_cast.alice)
    assert await commit_in_a_loop(alice, 2) == []
    await alice.disconnect()
