"""Speech in rooms that are not quiet keeps its words; the rooms alone give no text.

Real speech from shared/audio under a 50 Hz hum, under a rumble below 100 Hz 15 dB over the
voice with a DC offset, under a laptop fan, and through a telephone line
(tests/noisy_rooms.py, made with a fixed seed), through the local engine live and in batch.
Silero VAD scores much of such speech as no speech: the engine must not let it be the only
gate, and a hum, a rumble or a fan alone must still give no caption.
"""

from __future__ import annotations

import pytest

from tests.noisy_rooms import in_room
from tests.programme_scoring import stream_pcm_finals
from tests.speech import clip, word_error_rate
from transcription.audio import float_to_pcm16
from transcription.engines.local.engine import LocalBatchEngine, LocalConfig, LocalRealtimeEngine
from transcription.engines.local.models import DecodeSlots

pytestmark = pytest.mark.usefixtures("whisper")

WER_BOUND = 0.2
#: a room and the clip said in it
SPOKEN = {
    "hum": "A01_jfk_inaugural",
    "rumble": "A_LS_2412-153948-0000",
    "fan": "A_LJ001-0001",
    "telephone": "A_LS_1089-134686-0000",
}
ROOM_ALONE_S = 12.0


async def live_text(samples) -> str:
    finals = await stream_pcm_finals(
        float_to_pcm16(samples), LocalRealtimeEngine(LocalConfig(), DecodeSlots())
    )
    return " ".join(f.text for f in sorted(finals, key=lambda f: f.start_ms))


def batch_text(samples) -> str:
    return LocalBatchEngine(LocalConfig()).transcribe(samples).text


@pytest.mark.asyncio
@pytest.mark.parametrize("room", SPOKEN)
async def test_it_keeps_the_words_live(room):
    said = clip(SPOKEN[room])
    text = await live_text(in_room(room, said))
    assert word_error_rate(said.reference, text) <= WER_BOUND, text


@pytest.mark.parametrize("room", SPOKEN)
def test_it_keeps_the_words_in_batch(room):
    said = clip(SPOKEN[room])
    text = batch_text(in_room(room, said))
    assert word_error_rate(said.reference, text) <= WER_BOUND, text


@pytest.mark.asyncio
@pytest.mark.parametrize("room", SPOKEN)
async def test_the_room_alone_gives_no_caption(room):
    assert await live_text(in_room(room, None, ROOM_ALONE_S)) == ""


@pytest.mark.parametrize("room", SPOKEN)
def test_the_room_alone_gives_no_batch_text(room):
    assert batch_text(in_room(room, None, ROOM_ALONE_S)) == ""
