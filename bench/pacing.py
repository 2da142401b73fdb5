"""Audio sent as a microphone sends it: 100 ms frames, each at its moment."""

from __future__ import annotations

import asyncio
import time

CHUNK_MS = 100
CHUNK_BYTES = 16000 * 2 * CHUNK_MS // 1000  # PCM16 at 16 kHz


async def send_in_real_time(ws, pcm: bytes, next_send: float) -> float:
    """Send ``pcm`` frame by frame, the first at ``next_send`` (time.monotonic()); returns when
    the frame after the last is due, so calls can follow one another without drift."""
    for offset in range(0, len(pcm), CHUNK_BYTES):
        delay = next_send - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(pcm[offset : offset + CHUNK_BYTES])
        next_send += CHUNK_MS / 1000
    return next_send
