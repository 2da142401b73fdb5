"""Streaming real speech into the caption endpoints, and collecting what comes back."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.speech import Clip, clip
from transcription.audio import float_to_pcm16, pcm16_to_float, resample

CHUNK_MS = 100


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\x00\x00" * int(seconds * rate)


def noise(seconds: float, rate: int = 16000, level: float = 0.02, seed: int = 7) -> bytes:
    """Quiet white noise plus a 50 Hz hum: a room with nobody speaking."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    samples = rng.normal(0, level, t.size) + 0.02 * np.sin(2 * np.pi * 50 * t)
    return float_to_pcm16(samples.astype(np.float32))


def at_rate(pcm16: bytes, from_rate: int, to_rate: int) -> bytes:
    return float_to_pcm16(resample(pcm16_to_float(pcm16), from_rate, to_rate))


async def stream(comm, pcm16: bytes, rate: int, *, form: str = "binary", pace: float = 0.0) -> None:
    """Send audio in 100 ms frames; `pace` seconds between frames (0: as fast as it is taken)."""
    step = rate * 2 * CHUNK_MS // 1000
    for offset in range(0, len(pcm16), step):
        chunk = pcm16[offset : offset + step]
        if form == "binary":
            await comm.send_to(bytes_data=chunk)
        elif form == "append":
            await comm.send_json_to(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}
            )
        else:
            await comm.send_json_to(
                {"type": "audio_chunk", "data": base64.b64encode(chunk).decode()}
            )
        await asyncio.sleep(pace)


async def collect(comm, until: Callable[[dict[str, Any]], bool], within: float = 120) -> list[dict]:
    """Every event received until (and including) the first one `until` accepts."""
    events: list[dict] = []
    async with asyncio.timeout(within):
        while True:
            event = json.loads(await comm.receive_from(timeout=within))
            events.append(event)
            if until(event):
                return events


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


async def speak_clip(
    comm, speech: str | Clip, *, real_time: bool = False, lead: float = 0.0, tail: float = 1.0
) -> list[dict]:
    """One utterance in its own upstream session: ``lead`` seconds of silence, the clip (one
    of tests/speech.py by name, or any clip), a pause of ``tail`` seconds, then session.stop;
    every event until session.stopped.

    As fast as the engine takes it, unless `real_time`: partials are sent while someone
    speaks, so only audio paced like speech is sure to get them before its final.
    """
    pcm, rate = (clip(speech) if isinstance(speech, str) else speech).pcm16()
    await comm.send_json_to({"type": "session.start", "sample_rate": rate})
    audio = silence(lead, rate) + pcm + silence(tail, rate)
    await stream(comm, audio, rate, pace=CHUNK_MS / 1000 if real_time else 0)
    await comm.send_json_to({"type": "session.stop"})
    return await collect(comm, lambda e: e["type"] == "session.stopped")
