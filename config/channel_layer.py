"""channels_redis' layer, able to ride out a Redis restart.

Out of the box, a consumer whose receive() meets a Redis that is down dies with the error, and
its WebSocket closes with 1011: one Redis restart drops every connection of every process. And
a Redis that comes back empty has forgotten every group, so even a connection that lived on would
never hear its room again. This layer retries a failed receive with backoff and, once Redis
answers again, adds every channel of this process back to its groups.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
FIRST_RETRY_S, LAST_RETRY_S = 0.1, 2.0


class ResilientRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: this process's channels and their groups, to add again after Redis forgot them
        self.memberships: dict[str, set[str]] = defaultdict(set)

    async def group_add(self, group: str, channel: str) -> None:
        self.memberships[channel].add(group)
        await super().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        groups = self.memberships.get(channel)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.memberships[channel]
        await super().group_discard(group, channel)

    async def receive(self, channel: str):
        delay = FIRST_RETRY_S
        while True:
            try:
                return await super().receive(channel)
            except UNREACHABLE as error:
                logger.warning("channel layer: Redis unreachable (%s); retrying", error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LAST_RETRY_S)
            await self._rejoin()

    async def _rejoin(self) -> None:
        """Every channel back in its groups (ZADD: harmless if Redis still had them)."""
        try:
            for channel, groups in list(self.memberships.items()):
                for group in list(groups):
                    await super().group_add(group, channel)
        except UNREACHABLE:
            pass  # still down: the next failed receive tries again
