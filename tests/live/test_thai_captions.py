"""Thai speech captioned in Thai by the multilingual model (``LOCAL_WHISPER_MODEL=
multilingual-base``): a batch transcription, a live room whose language is Thai, and a room that
detects the language of each utterance while its people switch between Thai and English.

Real speech (a Common Voice Thai sentence, tests/fixtures/thai), the real model, consumer and
Redis layer. The bounds leave room for the model's few wrong letters on this clip (plain
faster-whisper with the same model: 3 of 53 letters wrong), not for English or silence.
"""

from __future__ import annotations

import wave

import numpy as np
import pytest
from channels.db import database_sync_to_async

from meetings.models import Meeting, Segment
from tests.base import communicator
from tests.speech import Clip, clip, word_error_rate
from tests.thai_speech import character_error_rate, is_thai, thai_clip
from transcription.engine_factory import batch_engine

from .streaming import of_type, speak_clip

SPEECH = thai_clip("cv-th-25686161")
ENGLISH = clip("A_LS_1089-134686-0000")


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


def thai_then_english(path) -> Clip:
    """The Thai sentence, a pause of 1.5 s (an utterance ends), then an English one."""
    thai, rate = SPEECH.pcm16()
    english, english_rate = ENGLISH.pcm16()
    assert rate == english_rate == 16000
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(thai + bytes(2 * rate * 3 // 2) + english)
    return Clip("thai-then-english", path, f"{SPEECH.reference} {ENGLISH.reference}")


@pytest.mark.asyncio
async def test_an_auto_room_captions_each_utterance_in_the_language_spoken(
    multilingual, live_cast, tmp_path
):
    """Thai workplaces switch between Thai and English: in a meeting whose language is "auto",
    a Thai sentence is captioned in Thai and the English one after it in English."""
    await database_sync_to_async(Meeting.objects.filter(pk=live_cast.meeting.pk).update)(
        language="auto"
    )
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=30))["type"] == "session.ready"

    speech = thai_then_english(tmp_path / "thai-then-english.wav")
    events = await speak_clip(comm, speech, lead=0.5, tail=1.5)
    await comm.disconnect()

    finals = of_type(events, "caption.final")
    assert [f["language"] for f in finals] == ["th", "en"], [f["text"] for f in finals]
    thai, english = (f["text"] for f in finals)
    assert is_thai(thai)
    assert character_error_rate(SPEECH.reference, thai) <= 0.15
    assert word_error_rate(ENGLISH.reference, english) <= 0.25
    stored = await database_sync_to_async(list)(Segment.objects.for_meeting(live_cast.meeting))
    assert [s.language for s in stored] == ["th", "en"]
