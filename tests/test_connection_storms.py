"""Everyone opens the link at 9:00: a web process takes a storm of connections in turn, none
refused or timed out (config/server.py: the listen backlog, the time to accept)."""

from __future__ import annotations

import asyncio
import json

import websockets
from channels.db import database_sync_to_async

from meetings.models import ApiToken, Membership, User

LISTENERS = 300


def listener_tokens(cast, count: int) -> list[str]:
    users = User.objects.bulk_create(User(username=f"storm-{n}") for n in range(count))
    Membership.objects.bulk_create(
        Membership(meeting=cast.meeting, user=user, role=Membership.Role.LISTENER) for user in users
    )
    return [ApiToken.issue(user)[1] for user in users]


async def opened(url: str):
    # no timeout of the client's: the server's are the ones tested
    return await websockets.connect(url, open_timeout=None, max_size=2**22)


async def test_a_storm_of_listeners_is_accepted(live_cast, web_servers):
    tokens = await database_sync_to_async(listener_tokens)(live_cast, LISTENERS)
    with web_servers() as base:
        url = base.replace("http", "ws", 1) + "/ws/meetings/weekly-sync/?token="
        async with asyncio.TaskGroup() as group:
            sockets = [group.create_task(opened(url + token)) for token in tokens]
        ready = [json.loads(await socket.result().recv()) for socket in sockets]
        assert [event["type"] for event in ready] == ["session.ready"] * LISTENERS
        assert max(event["connections"] for event in ready) == LISTENERS
        for socket in sockets:
            await socket.result().close()
