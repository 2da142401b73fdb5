"""Every audio form and sample rate of the protocol gives the same captions."""

from __future__ import annotations

import pytest

from tests.base import communicator
from tests.speech import clip, word_error_rate

from .streaming import at_rate, collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

# 16 words in 5.4 s; the bound below allows two wrong words, a wrong rate gives nonsense. (A shorter
# clip, "stuff it into you...", comes out as "Stuffered into" on some CPUs' int8 kernels.)
CLIP = "A_LS_1089-134691-0001"  # "for a full hour he had paced up and down waiting but he could..."
ONE_BREATH_CLIP = "A_LS_1089-134691-0000"  # "he could wait no longer", 2.1 s with no pause inside


@pytest.mark.parametrize(
    ("form", "rate"),
    [("binary", 48000), ("append", 24000), ("audio_chunk", 8000), ("binary", 44100)],
)
async def test_it_transcribes_each_form_and_rate(live_cast, form, rate):
    pcm, clip_rate = clip(CLIP).pcm16()
    audio = at_rate(pcm + silence(1.0, clip_rate), clip_rate, rate)
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    ready = await comm.receive_json_from(timeout=5)
    assert ready["sample_rate"] == 24000  # the default until session.start says otherwise
    await comm.send_json_to({"type": "session.start", "sample_rate": rate, "language": "en"})
    await stream(comm, audio, rate, form=form)
    await comm.send_json_to({"type": "session.stop"})
    events = await collect(comm, lambda e: e["type"] == "session.stopped")
    text = " ".join(e["text"] for e in of_type(events, "caption.final"))
    assert word_error_rate(clip(CLIP).reference, text) <= 0.125, text
    await comm.disconnect()


async def test_it_finishes_the_utterance_on_session_stop(live_cast):
    pcm, rate = clip(ONE_BREATH_CLIP).pcm16()
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(comm, pcm, rate)  # no pause after the speech: only the stop ends it
    await comm.send_json_to({"type": "session.stop"})
    events = await collect(comm, lambda e: e["type"] == "session.stopped")
    kinds = [e["type"] for e in events if e["type"] in {"caption.final", "session.stopped"}]
    assert kinds == ["caption.final", "session.stopped"]
    final = of_type(events, "caption.final")[0]
    assert word_error_rate(clip(ONE_BREATH_CLIP).reference, final["text"]) <= 0.2
    await comm.disconnect()


async def test_it_rejects_bad_audio_and_messages_without_closing(live_cast):
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await collect(comm, lambda e: e["type"] == "presence.changed")  # our own, via the group
    await comm.send_json_to({"type": "session.start", "sample_rate": 96000})
    assert (await comm.receive_json_from(timeout=5))["code"] == "invalid_audio_format"
    await comm.send_to(bytes_data=b"\x01\x02\x03")
    assert (await comm.receive_json_from(timeout=5))["code"] == "invalid_audio_format"
    await comm.send_json_to({"type": "input_audio_buffer.append", "audio": "not base64!"})
    assert (await comm.receive_json_from(timeout=5))["code"] == "invalid_audio_format"
    await comm.send_to(text_data="this is not json")
    assert (await comm.receive_json_from(timeout=5))["code"] == "invalid_message"
    await comm.send_json_to({"type": "dance"})
    assert (await comm.receive_json_from(timeout=5))["code"] == "invalid_message"
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong"}
    await comm.disconnect()
