"""Driving an engine session with real speech, and collecting what it says, when."""

from __future__ import annotations

import asyncio
import time
from typing import Any


class Listener:
    """Collects a session's events with the time each arrived."""

    def __init__(self, session) -> None:
        self.events: list[tuple[float, Any]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._listen(session))

    async def _listen(self, session) -> None:
        async for event in session.events():
            self.events.append((time.monotonic(), event))
            self.arrived.set()

    async def first(self, kind, within: float = 10):
        async with asyncio.timeout(within):
            while not self.of(kind):
                self.arrived.clear()
                await self.arrived.wait()
        return self.of(kind)[0]

    def of(self, kind) -> list:
        return [event for _, event in self.events if isinstance(event, kind)]

    def arrival(self, event) -> float:
        return next(at for at, e in self.events if e is event)


async def speak(session, pcm: bytes, rate: int, pace: float) -> float:
    """Append 100 ms chunks on a schedule (`pace` seconds per chunk); returns the end time."""
    chunk = rate * 2 // 10
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(pcm), chunk)):
        await session.append(pcm[offset : offset + chunk])
        await asyncio.sleep(max(0.0, start + (n + 1) * pace - time.monotonic()))
    return time.monotonic()
