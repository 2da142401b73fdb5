"""The one place a Redis client is made, for what the service keeps in Redis itself.

The channel layer and the cache make their own (channels_redis, Django's cache backend); every
other use (leases, limits, the health check) asks here, so the URL and options live in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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
    """An asyncio client for one use, closed afterwards.

    A client per use: redis-py's asyncio connections belong to the event loop that opened
    them, and a consumer's loop is not the worker thread's that ``async_to_sync`` starts.
    """
    client = redis_async.Redis.from_url(url or settings.REDIS_URL, **options)
    try:
        yield client
    finally:
        await client.aclose()
