"""Arbitrary JSON of every shape at both caption endpoints: always an answer, never a crash.

Each example opens a connection, sends one hostile frame, then a ping: everything the server
says before the pong must be a documented event (an `error` with a documented code, most
often), the connection must stay open, and the pong proves the next message still works.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.base import communicator

pytestmark = pytest.mark.asyncio

ENDPOINTS = ["/ws/meetings/weekly-sync/", "/ws/realtime/transcribe"]
KNOWN_TYPES = [
    "ping",
    "session.start",
    "input_audio_buffer.append",
    "audio_chunk",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "session.stop",
]
ERROR_CODES = {
    "invalid_message",
    "invalid_audio_format",
    "rate_limited",
    "upstream_unavailable",
    "upstream_error",
}
# what may come before the pong, besides errors: replies to valid messages and room presence
OTHER_EVENTS = {"pong", "session.stopped", "presence.changed", "participants.page"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = json_values | st.sampled_from([0, 8000, 16000, 48000, 96000, "en", "auto", "AAA="])
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(KNOWN_TYPES) | json_values},
    optional={
        "sample_rate": field_values,
        "language": field_values,
        "audio": field_values,
        "data": field_values,
    },
)
frames = (
    messages.map(json.dumps)  # Python writes NaN and Infinity, which its reader accepts
    | json_values.map(json.dumps)
    | st.text(min_size=1, max_size=50)
)


async def assert_answered_and_usable(path: str, user, frame: str) -> None:
    comm = await communicator(path, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    await comm.send_to(text_data=frame)
    await comm.send_json_to({"type": "ping"})
    while True:
        output = await comm.receive_output(timeout=10)
        assert output["type"] == "websocket.send", f"closed after {frame[:80]!r}: {output}"
        event = json.loads(output["text"])
        if event["type"] == "error":
            assert event["code"] in ERROR_CODES, (frame[:80], event)
        else:
            assert event["type"] in OTHER_EVENTS, (frame[:80], event)
        if event["type"] == "pong":
            break
    await comm.disconnect()


@pytest.mark.parametrize("path", ENDPOINTS)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames)
async def test_any_frame_gets_a_documented_answer_and_the_socket_stays_usable(
    live_cast, path, frame
):
    await assert_answered_and_usable(path, live_cast.bob, frame)
