"""Reads that many connections need at the same moment, done together: a trip, not one each.

In a storm (a thousand people opening the link at 9:00) every connection reads its token, its
access and its room's snapshot, and the web process has one database thread
(``database_sync_to_async``): read one by one, the trips queue behind each other, each with its
own connection check, and connecting takes a minute. A :class:`BatchedReads` lets the callers
that ask while a read is under way wait for the next read together, which starts as soon as
that one ends and reads all their keys at once.

Each read starts after every one of its callers asked, so a caller gets what it would have got
from a read of its own made a moment later: nothing older than its question.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from channels.db import database_sync_to_async

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchedReads(Generic[K, V]):
    """Values by key from ``read_many`` (sync, run in the database thread), which takes a list
    of distinct keys and returns each one's value, or the exception to raise for it."""

    def __init__(self, read_many: Callable[[list[K]], dict[K, V | Exception]]) -> None:
        self.read_many = read_many
        #: event loop → key → the next read's answer, for those waiting for it
        self._waiting: dict[asyncio.AbstractEventLoop, dict[K, asyncio.Future]] = {}
        #: event loop → the task reading now
        self._reading: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    async def get(self, key: K) -> V:
        """The key's value, read after this call began (with whoever asked alongside)."""
        loop = asyncio.get_running_loop()
        waiting = self._waiting.setdefault(loop, {})
        if key not in waiting:
            waiting[key] = loop.create_future()
        future = waiting[key]
        if loop not in self._reading:
            self._reading[loop] = loop.create_task(self._read_while_asked(loop))
        # shielded: one caller that goes away does not cancel the others' read
        return await asyncio.shield(future)

    async def _read_while_asked(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            # taken before the read starts: whoever asks from now on waits for the next one
            while waiting := self._waiting.pop(loop, None):
                await self._read(waiting)
        finally:
            self._reading.pop(loop, None)

    async def _read(self, waiting: dict[K, asyncio.Future]) -> None:
        try:
            found = await database_sync_to_async(self.read_many)(list(waiting))
        except asyncio.CancelledError:  # the loop is closing
            for future in waiting.values():
                future.cancel()
            raise
        except Exception as exc:
            found = dict.fromkeys(waiting, exc)
        for key, future in waiting.items():
            value = found[key]
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)
