"""Past CAPTIONS_MAX_SPEAKERS a web process refuses a new speaker, never a listener.

Without a limit every room's captions fall behind once the cores are full; with it the one
speaker too many is told (server_busy), keeps hearing the room, and may try again.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.base import communicator
from tests.speech import clip
from transcription import metrics

from .streaming import collect, of_type, silence, stream

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

ROOM = "/ws/meetings/weekly-sync/"


async def joined(user):
    comm = await communicator(ROOM, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def figures() -> dict[str, float]:
    """This process's /metrics, by sample name (with its labels)."""
    text = (await database_sync_to_async(generate_latest)(metrics.registry)).decode()
    return {
        s.name + "".join(f"{{{k}={v}}}" for k, v in sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_one_speaker_too_many_is_refused_and_listens(live_cast, settings):
    settings.CAPTIONS_MAX_SPEAKERS = 1
    before = await figures()
    bob, alice = await joined(live_cast.bob), await joined(live_cast.alice)
    pcm, rate = clip("A_LS_1089-134691-0000").pcm16()  # "He could wait no longer."
    half = len(pcm) // 4 * 2

    # bob speaks: his session holds the one seat
    await bob.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(bob, pcm[:half], rate)
    await collect(alice, lambda e: e["type"] == "speech.started")

    # alice (the host, who may speak) is refused, once, however much audio she sends
    await alice.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(alice, pcm, rate)
    refused = await collect(alice, lambda e: e["type"] == "error")
    assert refused[-1]["code"] == "server_busy"
    during = await figures()
    assert during["captions_speakers"] == 1
    assert during["captions_connections"] == before["captions_connections"] + 2

    # ... and still hears bob's final, as a listener
    await stream(bob, pcm[half:] + silence(1.0, rate), rate)
    await bob.send_json_to({"type": "session.stop"})
    heard = await collect(alice, lambda e: e["type"] == "caption.final")
    assert heard[-1]["speaker"]["id"] == live_cast.bob.pk
    assert "wait no longer" in heard[-1]["text"].lower()
    assert not [e for e in heard if e["type"] == "error"]  # no error per frame
    await collect(bob, lambda e: e["type"] == "session.stopped")

    # bob is done, so the seat is free: alice tries again and is captioned
    await alice.send_json_to({"type": "session.stop"})
    await collect(alice, lambda e: e["type"] == "session.stopped")
    await alice.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(alice, pcm + silence(1.0, rate), rate)
    await alice.send_json_to({"type": "session.stop"})
    own = await collect(alice, lambda e: e["type"] == "session.stopped")
    finals = [e for e in of_type(own, "caption.final") if e["speaker"]["id"] == live_cast.alice.pk]
    assert finals and "wait no longer" in finals[-1]["text"].lower()
    assert not of_type(own, "error")
    after = await figures()
    busy = "captions_errors_total{code=server_busy}"
    assert after[busy] == before.get(busy, 0) + 1  # one refusal, however many frames
    assert after["captions_speakers"] == 0
    finals = "captions_final_seconds_count"
    assert after[finals] >= before[finals] + 2  # bob's final and alice's
    for comm in (bob, alice):
        await comm.disconnect()
