"""The one place a Redis client is made, for what the service keeps in Redis itself.

The channel layer and the cache make their own (channels_redis, Django's cache backend); every
other use (leases, limits, the health check) asks here, so the URL and options live in one place.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
import redis.asyncio as redis_async
from django.conf import settings


def connect(url: str | None = None, **options: Any) -> redis.Redis:
    """A blocking client for ``url`` (REDIS_URL by default); close it when done."""
    return redis.Redis.from_url(url or settings.REDIS_URL, **options)


@asynccontextmanager
async def async_client(url: str | None = None, **options: Any) -> AsyncIterator[redis_async.Redis]:
    """An asyncio client: for REDIS_URL, the running event loop's own; else one for this use.

    redis-py's asyncio connections belong to the event loop that opened them (a consumer's is
    not the worker thread's that ``async_to_sync`` starts), so each loop gets its own client,
    kept for the loop's life: a client per use cost about 6 ms (connecting, then naming the
    library) against 0.1 ms for a command, on every lease taken and renewed, thousands a minute
    in a big room.
    """
    if url is None and not options:
        yield await _loop_client(settings.REDIS_URL)
        return
    client = redis_async.Redis.from_url(url or settings.REDIS_URL, **options)
    try:
        yield client
    finally:
        await client.aclose()


#: event loop → REDIS_URL → its client, and the generator that closes it with the loop
_loop_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[redis_async.Redis, AsyncGenerator[None, None]]]
] = weakref.WeakKeyDictionary()


async def _loop_client(url: str) -> redis_async.Redis:
    clients = _loop_clients.setdefault(asyncio.get_running_loop(), {})
    if url not in clients:
        client = redis_async.Redis.from_url(url)
        # An event loop closes its async generators when it shuts down (asyncio.run, Daphne's
        # exit, a test's loop): this one closes the client then, leaving no socket open.
        closer = _closed_with_the_loop(client)
        await closer.asend(None)
        clients[url] = (client, closer)
    return clients[url][0]


async def _closed_with_the_loop(client: redis_async.Redis) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()
