"""Keeps each speaker's raw audio as a WAV file, written off the event loop."""

from __future__ import annotations

import asyncio
import uuid
import wave
from pathlib import Path

from django.conf import settings

FLUSH_BYTES = 16000 * 2 * 5  # about five seconds of 16 kHz audio


class RecordingWriter:
    """Appends PCM16 to a WAV file in batches; `close()` finishes the header."""

    def __init__(self, folder: str, sample_rate: int) -> None:
        self.relative_name = f"recordings/{folder}/{uuid.uuid4().hex}.wav"
        self.path = Path(settings.MEDIA_ROOT) / self.relative_name
        self.sample_rate = sample_rate
        self.bytes_written = 0
        self._pending = bytearray()
        self._wav: wave.Wave_write | None = None
        self._lock = asyncio.Lock()

    @property
    def duration_ms(self) -> int:
        return (self.bytes_written + len(self._pending)) * 1000 // (2 * self.sample_rate)

    def _open(self) -> wave.Wave_write:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wav = wave.open(str(self.path), "wb")  # noqa: SIM115 (closed by close())
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(self.sample_rate)
        return wav

    def _write(self, chunk: bytes) -> None:
        if self._wav is None:
            self._wav = self._open()
        self._wav.writeframes(chunk)

    async def write(self, pcm16: bytes) -> None:
        self._pending += pcm16
        if len(self._pending) >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            chunk, self._pending = bytes(self._pending), bytearray()
            if chunk:
                await asyncio.to_thread(self._write, chunk)
                self.bytes_written += len(chunk)

    async def close(self) -> None:
        await self.flush()
        async with self._lock:
            if self._wav is not None:
                await asyncio.to_thread(self._wav.close)
                self._wav = None
