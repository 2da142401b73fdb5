"""Recordings with real WAV files in the test MEDIA_ROOT, and reading what the audio view sends."""

from __future__ import annotations

import wave
from pathlib import Path

from asgiref.sync import async_to_sync
from django.conf import settings

from meetings.models import Meeting, Recording, User


def make_recording(
    meeting: Meeting, speaker: User, pcm16: bytes, sample_rate: int = 16000, **kwargs
) -> Recording:
    """A finished recording of `pcm16`, written as the live recorder writes it (mono WAV)."""
    recording = Recording(meeting=meeting, speaker=speaker, speaker_name=speaker.name, **kwargs)
    recording.file.name = recording.file.field.upload_to(recording, "audio.wav")
    path = Path(settings.MEDIA_ROOT) / recording.file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm16)
    recording.sample_rate = sample_rate
    recording.duration_ms = len(pcm16) * 1000 // (2 * sample_rate)
    recording.save()
    return recording


def body(response) -> bytes:
    """A streamed response's bytes; the audio view streams asynchronously, as Daphne reads it."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()


def audio_url(recording: Recording, slug: str | None = None) -> str:
    return f"/m/{slug or recording.meeting.slug}/recordings/{recording.pk}/audio.wav"
