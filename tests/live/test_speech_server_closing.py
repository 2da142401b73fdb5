"""The speech server closes realtime sessions with 1001 (going away), as OpenAI does: at the
session's maximum length, with OpenAI's reason, and for every open session when it is stopped
(SIGTERM). The OpenAI engine retries a session closed with 1001 elsewhere.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.speech_server import AUTH, next_event

GOING_AWAY = 1001


async def closed(ws) -> tuple[int | None, str | None]:
    """The close code and reason, once the server closed the session."""
    with pytest.raises(ConnectionClosed):
        while True:
            await next_event(ws, within=60)
    return ws.close_code, ws.close_reason


async def test_it_closes_sessions_with_going_away(monkeypatch, speech_servers):
    monkeypatch.setenv("REALTIME_SERVER_MAX_SESSION_MINUTES", "0.1")  # 6 s
    server = speech_servers()
    url = server.realtime_url + "?intent=transcription"
    try:
        server.start()
        async with connect(url, additional_headers=AUTH) as ws:
            assert (await next_event(ws))["type"] == "session.created"
            reason = "Your session hit the maximum duration of 0.1 minutes."
            assert await closed(ws) == (GOING_AWAY, reason)

        async with (
            connect(url, additional_headers=AUTH) as first,
            connect(url, additional_headers=AUTH) as second,
        ):
            for ws in (first, second):
                assert (await next_event(ws))["type"] == "session.created"
            stopping = asyncio.create_task(asyncio.to_thread(server.stop))
            assert [await closed(ws) for ws in (first, second)] == [(GOING_AWAY, "")] * 2
            await stopping
    finally:
        server.stop()
