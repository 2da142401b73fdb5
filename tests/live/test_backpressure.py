"""An engine session whose events nobody reads holds its audio back instead of piling up events.

Before the fix, the local engine's output queue had no bound: a consumer that stopped reading
(its forwarding task had died) left the queue growing for as long as the speaker spoke.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from transcription.engines.base import Final, SessionConfig
from transcription.engines.local.engine import LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots

from ..speech import clips, word_error_rate
from .streaming import silence

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

LIMIT = 4
# besides LIMIT, what one step of audio and the one partial in flight may add
SLACK = 4


async def feed(session, pcm16: bytes) -> None:
    step = 3200  # 100 ms at 16 kHz
    for offset in range(0, len(pcm16), step):
        await session.append(pcm16[offset : offset + step])


async def test_unread_events_hold_the_audio_and_nothing_is_lost():
    speech = clips()[:5]
    audio = b"".join(c.pcm16()[0] + silence(1.5) for c in speech)
    assert all(c.pcm16()[1] == 16000 for c in speech)
    session = await LocalRealtimeEngine(LocalConfig(), DecodeSlots()).open(SessionConfig())
    session.out.limit = LIMIT
    feeder = asyncio.create_task(feed(session, audio))

    for _ in range(1200):  # until the unread events fill the queue (two minutes at most)
        if session.out.qsize() >= LIMIT:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # time enough to pile up, were nothing holding it
    assert not feeder.done(), "the audio was all taken although no event was read"
    assert session.out.qsize() <= LIMIT + SLACK

    events = []

    async def read() -> None:
        async for event in session.events():
            events.append(event)

    reader = asyncio.create_task(read())
    await feeder
    await session.close()
    await reader
    finals = [e for e in events if isinstance(e, Final)]
    assert np.all(np.diff([f.start_ms for f in finals]) > 0)
    said = " ".join(c.reference for c in speech)
    assert word_error_rate(said, " ".join(f.text for f in finals)) <= 0.05
