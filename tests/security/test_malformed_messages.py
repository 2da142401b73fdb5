"""Messages of any shape get an `error` event and leave the connection usable.

Before the fix, a `type` that was not a string, a number out of range or a deeply nested value
crashed the consumer (close 1011) and leaked the user's connection count: after eight such
connections the user was refused with 4429 for hours.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.base import communicator

pytestmark = pytest.mark.asyncio

ENDPOINTS = ["/ws/meetings/weekly-sync/", "/ws/realtime/transcribe"]

DEEP = "[" * 100_000 + "]" * 100_000

HOSTILE = [
    '{"type": []}',
    '{"type": {"a": 1}}',
    '{"type": "session.start", "sample_rate": 1e999}',
    '{"type": "session.start", "sample_rate": -1e999}',
    '{"type": "session.start", "sample_rate": NaN}',
    '{"type": "session.start", "sample_rate": "fast"}',
    '{"type": "session.start", "language": ["en"]}',
    '{"type": "session.start", "language": "' + "x" * 40 + '"}',
    '{"type": "input_audio_buffer.append", "audio": 12}',
    '{"type": "input_audio_buffer.append", "audio": "not base64!"}',
    '{"type": "audio_chunk"}',
    '{"type": "' + "y" * 5000 + '"}',
    DEEP,
    '{"type": ' + DEEP + "}",
    "[]",
    "null",
    "7",
    '"ping"',
    "{",
    " ",
]


async def reply(comm) -> dict:
    """The next event meant for this client (presence events of the room aside)."""
    while (event := await comm.receive_json_from(timeout=5))["type"].startswith("presence."):
        pass
    return event


async def open_room(path: str, user):
    comm = await communicator(path, user)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def assert_still_usable(comm) -> None:
    await comm.send_json_to({"type": "ping"})
    assert await reply(comm) == {"type": "pong"}


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_it_answers_every_hostile_message_with_an_error(live_cast, path):
    comm = await open_room(path, live_cast.bob)
    for text in HOSTILE:
        await comm.send_to(text_data=text)
        event = await reply(comm)
        assert event["type"] == "error", text[:60]
        assert event["code"] in {"invalid_message", "invalid_audio_format"}, text[:60]
        assert len(event["message"]) < 300, "errors do not echo what they were sent"
        await assert_still_usable(comm)
    await comm.disconnect()


@override_settings(CAPTIONS_MAX_CONNECTIONS_PER_USER=3)
async def test_hostile_messages_never_use_up_the_users_connections(live_cast):
    for _ in range(10):
        comm = await open_room(ENDPOINTS[0], live_cast.bob)
        await comm.send_to(text_data='{"type": []}')
        assert (await reply(comm))["type"] == "error"
        await comm.disconnect()
    comm = await open_room(ENDPOINTS[0], live_cast.bob)
    await assert_still_usable(comm)
    await comm.disconnect()
