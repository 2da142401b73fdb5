"""A participant on another server process receives the room's captions through Redis."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async

from meetings.models import ApiToken
from tests.base import communicator
from tests.speech import clip, word_error_rate

from .streaming import collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]


async def test_it_reaches_a_participant_on_another_daphne(live_cast, web_server):
    _, token = await database_sync_to_async(ApiToken.issue)(live_cast.dave)
    pcm, rate = clip("A_LS_1089-134691-0000").pcm16()
    base = web_server
    url = base.replace("http", "ws", 1) + f"/ws/meetings/weekly-sync/?token={token}"
    async with websockets.connect(url) as remote:
        ready = json.loads(await remote.recv())
        assert ready["participant"]["name"] == "Dave"

        speaker = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
        assert (await speaker.connect())[0]
        await speaker.receive_json_from(timeout=5)
        await speaker.send_json_to({"type": "session.start", "sample_rate": rate})
        await stream(speaker, pcm + silence(1.0, rate), rate)
        await speaker.send_json_to({"type": "session.stop"})
        spoken = await collect(speaker, lambda e: e["type"] == "session.stopped")
        sent_final = of_type(spoken, "caption.final")[0]

        async with asyncio.timeout(30):
            while True:
                event = json.loads(await remote.recv())
                if event["type"] == "caption.final":
                    break
        assert event == sent_final
        assert word_error_rate(clip("A_LS_1089-134691-0000").reference, event["text"]) <= 0.2
        await speaker.disconnect()
