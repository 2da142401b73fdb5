"""What every server process must agree on about live connections: leases and counted actions.

A **lease** is a member of a named set, held until its expiry time and renewed by its holder
while the holder lives, so a process that dies leaks nothing for longer than one lease (a
connection's place in its user's quota and in its room, a listener's chosen language). A
**count** is a sliding log: at most ``limit`` actions under one key in any ``window`` seconds.

Two backends keep them behind one interface, chosen once by ``LIVE_STATE_BACKEND``:
:class:`RedisLiveState`, shared by every process (production, the tests), and
:class:`MemoryLiveState`, for the single-process demo without Redis (``EMBEDDED``), which
nothing outside its process can see.
"""

from __future__ import annotations

import functools
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .redis_client import async_client

#: (set, member): one lease
Hold = tuple[str, str]

# Atomic, so two processes cannot both take the last free place of the first set.
ACQUIRE = """
local now = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
local ttl = math.ceil(expires - now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[4])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, expires, ARGV[3 + i])
  redis.call('EXPIRE', key, ttl)
end
return 1
"""

# A sliding log: at most ARGV[3] entries in any window, counted and added atomically.
TAKE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class LiveState(Protocol):
    #: whether other processes (the worker's idle sweep) see what this one holds
    shared: bool

    async def acquire(self, holds: Sequence[Hold], seconds: float, limit: int) -> bool:
        """Hold every lease for ``seconds``; False, and none held, when the first set already
        has ``limit`` live members besides this one."""

    async def renew(self, holds: Sequence[Hold], seconds: float) -> None:
        """Hold (again) every lease for ``seconds`` from now."""

    async def release(self, holds: Sequence[Hold]) -> None: ...

    async def members(self, key: str) -> set[str]:
        """The set's live members."""

    async def count(self, key: str) -> int:
        """How many live members the set has (without reading them)."""

    async def mark(self, key: str, value: float, seconds: int) -> None:
        """Keep ``value`` under ``key`` for ``seconds``."""

    async def read_mark(self, key: str) -> float | None: ...

    async def take(self, key: str, window: int, limit: int) -> bool:
        """Count one more under ``key``; False, and not counted, when ``limit`` were in the
        last ``window`` seconds."""


class RedisLiveState:
    """Sorted sets scored by expiry, and keys with a TTL, in REDIS_URL."""

    shared = True

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    async def acquire(self, holds: Sequence[Hold], seconds: float, limit: int) -> bool:
        now = self.clock()
        keys = [key for key, _ in holds]
        args = [now, now + seconds, limit, *(member for _, member in holds)]
        async with async_client() as client:
            return bool(await client.eval(ACQUIRE, len(keys), *keys, *args))

    async def renew(self, holds: Sequence[Hold], seconds: float) -> None:
        now = self.clock()
        async with async_client() as client, client.pipeline(transaction=False) as pipe:
            for key, member in holds:
                pipe.zremrangebyscore(key, "-inf", now)  # what a dead process left
                pipe.zadd(key, {member: now + seconds})
                pipe.expire(key, int(seconds) + 1)
            await pipe.execute()

    async def release(self, holds: Sequence[Hold]) -> None:
        async with async_client() as client, client.pipeline(transaction=False) as pipe:
            for key, member in holds:
                pipe.zrem(key, member)
            await pipe.execute()

    async def members(self, key: str) -> set[str]:
        async with async_client() as client:
            found = await client.zrangebyscore(key, self.clock(), "+inf")
        return {member.decode() for member in found}

    async def count(self, key: str) -> int:
        async with async_client() as client:
            return await client.zcount(key, self.clock(), "+inf")

    async def mark(self, key: str, value: float, seconds: int) -> None:
        async with async_client() as client:
            await client.set(key, value, ex=seconds)

    async def read_mark(self, key: str) -> float | None:
        async with async_client() as client:
            value = await client.get(key)
        return float(value) if value is not None else None

    async def take(self, key: str, window: int, limit: int) -> bool:
        entry = secrets.token_hex(8)
        async with async_client() as client:
            return bool(await client.eval(TAKE, 1, key, self.clock(), window, limit, entry))


class MemoryLiveState:
    """The same in this process's memory: a dead process takes its leases with it."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        # consumers run on one event loop, but async_to_sync callers come from other threads
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}
        self._marks: dict[str, tuple[float, float]] = {}
        self._logs: dict[str, list[float]] = {}

    def _live(self, key: str, now: float) -> dict[str, float]:
        live = {m: t for m, t in self._sets.get(key, {}).items() if t > now}
        self._sets[key] = live
        return live

    async def acquire(self, holds: Sequence[Hold], seconds: float, limit: int) -> bool:
        now = self.clock()
        with self._lock:
            first_key, first_member = holds[0]
            first = self._live(first_key, now)
            if first_member not in first and len(first) >= limit:
                return False
            for key, member in holds:
                self._live(key, now)[member] = now + seconds
        return True

    async def renew(self, holds: Sequence[Hold], seconds: float) -> None:
        now = self.clock()
        with self._lock:
            for key, member in holds:
                self._live(key, now)[member] = now + seconds

    async def release(self, holds: Sequence[Hold]) -> None:
        with self._lock:
            for key, member in holds:
                self._sets.get(key, {}).pop(member, None)

    async def members(self, key: str) -> set[str]:
        with self._lock:
            return set(self._live(key, self.clock()))

    async def count(self, key: str) -> int:
        with self._lock:
            return len(self._live(key, self.clock()))

    async def mark(self, key: str, value: float, seconds: int) -> None:
        with self._lock:
            self._marks[key] = (value, self.clock() + seconds)

    async def read_mark(self, key: str) -> float | None:
        with self._lock:
            value, expires = self._marks.get(key, (None, math.inf))
            return value if expires > self.clock() else None

    async def take(self, key: str, window: int, limit: int) -> bool:
        now = self.clock()
        with self._lock:
            log = [t for t in self._logs.get(key, []) if t > now - window]
            self._logs[key] = log
            if len(log) >= limit:
                return False
            log.append(now)
        return True


@functools.cache
def backend() -> LiveState:
    """The process's backend, from LIVE_STATE_BACKEND, made once."""
    return import_string(settings.LIVE_STATE_BACKEND)()
