"""Connections that arrive together have their tokens and rights read together
(meetings/batched_reads.py), and each is still judged on its own: in one storm, a listener's
token gets in while an outsider's, a revoked one, an inactive user's, an unknown one and one
for a room that does not exist are each refused with their own close code."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from meetings.close_codes import CloseCode
from meetings.models import ApiToken

from ..base import communicator


def tokens_of(cast) -> dict[str, str]:
    inactive = cast.factory.make_user("erin", is_active=False)
    cast.meeting.add_member(inactive, "listener")
    revoked, revoked_raw = ApiToken.issue(cast.bob)
    revoked.revoke()
    return {
        "dave": ApiToken.issue(cast.dave)[1],
        "bob": ApiToken.issue(cast.bob)[1],
        "charlie": ApiToken.issue(cast.charlie)[1],
        "revoked": revoked_raw,
        "inactive": ApiToken.issue(inactive)[1],
        "unknown": "not-a-token-of-ours",
    }


async def first_message(path: str) -> dict:
    comm = await communicator(path, origin=None)
    assert (await comm.connect())[0]  # accepted first: a close code needs an open socket
    message = await comm.receive_output(timeout=30)
    if message["type"] == "websocket.send":
        await comm.disconnect()
    return message


async def test_each_connection_of_a_storm_is_judged_alone(live_cast):
    tokens = await database_sync_to_async(tokens_of)(live_cast)
    room = "/ws/meetings/weekly-sync/?token="
    paths = {name: room + raw for name, raw in tokens.items()}
    paths["dave elsewhere"] = "/ws/meetings/no-such-room/?token=" + tokens["dave"]

    firsts = await asyncio.gather(*(first_message(path) for path in paths.values()))
    got = dict(zip(paths, firsts, strict=True))

    assert got["dave"]["type"] == got["bob"]["type"] == "websocket.send"
    assert '"session.ready"' in got["dave"]["text"]
    closed = {name: message.get("code") for name, message in got.items()}
    assert closed["charlie"] == CloseCode.FORBIDDEN
    assert closed["revoked"] == CloseCode.NOT_AUTHENTICATED
    assert closed["inactive"] == CloseCode.NOT_AUTHENTICATED
    assert closed["unknown"] == CloseCode.NOT_AUTHENTICATED
    assert closed["dave elsewhere"] == CloseCode.NOT_FOUND
