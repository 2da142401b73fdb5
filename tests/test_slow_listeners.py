"""A listener that stops reading holds up nobody: once what it has not read passes
CAPTIONS_MAX_UNSENT_BYTES it is closed with 4412 (and its page reconnects), while everyone else
in the room hears every event (config/server.py, docs/PROTOCOL.md "Close codes")."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import pytest
import websockets
from channels.db import database_sync_to_async

from meetings import actions, events
from meetings.close_codes import CloseCode
from meetings.models import ApiToken

#: about 4 kB a message: the room says a lot, quickly
LONG_TEXT = "word " * 800
BATCH = 50
#: far past the limit (256 KiB) and whatever the kernel's buffers hold: 16 MB
MOST_EVENTS = 4000


def stalled_socket(url: str) -> socket.socket:
    """A TCP connection whose receive window stays small, so what it does not read stays in
    the server."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    return sock


async def room_url(base: str, user) -> str:
    _, token = await database_sync_to_async(ApiToken.issue)(user)
    return base.replace("http", "ws", 1) + f"/ws/meetings/weekly-sync/?token={token}"


async def test_a_stalled_listener_is_closed_and_holds_up_nobody(live_cast, web_servers):
    stalled_id = live_cast.bob.pk
    with web_servers(CAPTIONS_MAX_UNSENT_BYTES=str(256 * 1024)) as base:
        fast_url, stalled_url = (
            await room_url(base, live_cast.dave),
            await room_url(base, live_cast.bob),
        )
        async with (
            websockets.connect(fast_url, max_size=2**22) as fast,
            # max_queue=1: the client library stops reading once one message waits for it
            websockets.connect(
                stalled_url, sock=stalled_socket(stalled_url), max_queue=1, max_size=2**22
            ) as stalled,
        ):
            assert json.loads(await fast.recv())["type"] == "session.ready"
            assert json.loads(await stalled.recv())["type"] == "session.ready"
            # from here on the stalled listener reads nothing

            sent: list[str] = []
            heard: list[str] = []
            stalled_closed = False
            while not stalled_closed:
                assert len(sent) < MOST_EVENTS, "the stalled listener was never closed"
                for _ in range(BATCH):
                    item = f"item-{len(sent)}"
                    partial = events.caption_partial(live_cast.alice, item, LONG_TEXT)
                    await actions.announce(live_cast.meeting.pk, partial)
                    sent.append(item)
                while len(heard) < len(sent):  # the fast listener hears every one
                    event = json.loads(await asyncio.wait_for(fast.recv(), 60))
                    if event["type"] == "caption.partial":
                        heard.append(event["item_id"])
                    elif event["type"] == "presence.changed":
                        stalled_closed |= {"id": stalled_id, "connections": 0} in [
                            {"id": p["id"], "connections": p["connections"]}
                            for p in event["changed"]
                        ]
            assert heard == sent

            # Reading again, the stalled listener finds, after what was queued, why it was closed.
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stalled.recv(), 60)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == CloseCode.TOO_SLOW
