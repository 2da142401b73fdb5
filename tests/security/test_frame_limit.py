"""A frame over the size limit is answered with close code 1009, through a real Daphne.

Before the fix, autobahn (inside Daphne) enforced the 1 MiB limit by dropping the TCP
connection (its default `failByDrop`), so the client saw no close code at all, while
docs/PROTOCOL.md promises 1009.
"""

from __future__ import annotations

import json

import pytest
import websockets
from channels.db import database_sync_to_async

from meetings.models import ApiToken

pytestmark = pytest.mark.asyncio

TWO_MIB = 2 * 1024 * 1024


@pytest.mark.parametrize("frame", [b"\0" * TWO_MIB, " " * TWO_MIB], ids=["binary", "text"])
async def test_it_closes_with_1009_on_a_frame_over_the_limit(live_cast, frame, web_server):
    _, token = await database_sync_to_async(ApiToken.issue)(live_cast.bob)
    base = web_server
    url = base.replace("http", "ws", 1) + "/ws/meetings/weekly-sync/"
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        ready = json.loads(await ws.recv())
        assert ready["type"] == "session.ready"
        await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    assert closed.value.rcvd.code == 1009


async def test_a_frame_under_the_limit_keeps_the_connection(live_cast, web_server):
    _, token = await database_sync_to_async(ApiToken.issue)(live_cast.bob)
    base = web_server
    url = base.replace("http", "ws", 1) + "/ws/meetings/weekly-sync/"
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "session.ready"
        # JSON allows trailing whitespace: a valid message of 900 kB
        await ws.send(json.dumps({"type": "ping"}) + " " * 900_000)
        while (event := json.loads(await ws.recv()))["type"] != "pong":
            assert event["type"] != "error", event
