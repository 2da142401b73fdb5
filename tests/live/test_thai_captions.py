"""Thai speech captioned in Thai by the multilingual model (``LOCAL_WHISPER_MODEL=
multilingual-base``): a batch transcription and a live room whose language is Thai.

Real speech (a Common Voice Thai sentence, tests/fixtures/thai), the real model, consumer and
Redis layer. The bounds leave room for the model's few wrong letters on this clip (plain
faster-whisper with the same model: 3 of 53 letters wrong), not for English or silence.
"""

from __future__ import annotations

import numpy as np
import pytest
from channels.db import database_sync_to_async

from meetings.models import Meeting, Segment
from tests.base import communicator
from tests.thai_speech import character_error_rate, is_thai, thai_clip
from transcription.engine_factory import batch_engine

from .streaming import of_type, speak_clip

SPEECH = thai_clip("cv-th-25686161")


@pytest.fixture
def multilingual(whisper, settings) -> None:
    settings.LOCAL_WHISPER_MODEL = "multilingual-base"


def samples() -> np.ndarray:
    pcm, rate = SPEECH.pcm16()
    assert rate == 16000
    return np.frombuffer(pcm, np.int16).astype(np.float32) / 32768


@pytest.mark.parametrize("language", ["th", None])
def test_the_batch_engine_transcribes_thai_in_thai(multilingual, language):
    transcript = batch_engine("local").transcribe(samples(), language=language)
    assert transcript.language == "th"
    assert is_thai(transcript.text)
    assert character_error_rate(SPEECH.reference, transcript.text) <= 0.15


@pytest.mark.asyncio
@pytest.mark.parametrize("language", ["th", "auto"])
async def test_a_thai_room_is_captioned_in_thai(multilingual, live_cast, language):
    """In a Thai meeting, and in one that detects the language (it hears Thai)."""
    await database_sync_to_async(Meeting.objects.filter(pk=live_cast.meeting.pk).update)(
        language=language
    )
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=30))["type"] == "session.ready"

    events = await speak_clip(comm, SPEECH, lead=0.5, tail=1.5)
    await comm.disconnect()

    finals = of_type(events, "caption.final")
    assert finals
    assert {f["language"] for f in finals} == {"th"}
    text = "".join(f["text"] for f in finals)
    assert is_thai(text)
    assert character_error_rate(SPEECH.reference, text) <= 0.15
    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert {s.language for s in stored} == {"th"}
