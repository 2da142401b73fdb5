"""Redis restarted mid-utterance: the meeting goes on, no final lost or stored twice.

Before the fix every connection of the process closed with 1011 the moment Redis went away
(the consumer's receive died with the error), and a Redis that came back empty had forgotten
the room's group. A throwaway Redis on its own port carries the channel layer of a real Daphne
process here; the machine's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import websockets

from meetings.models import ApiToken, Segment
from tests.servers import free_port, stop_process
from tests.speech import clip, word_error_rate

from .streaming import silence

FIRST = clip("A_LS_1089-134691-0000")  # "He could wait no longer."
SECOND = clip("A_LS_1272-128104-0000")  # "Mr. Quilter is the apostle ..."


def start_redis(port: int) -> subprocess.Popen:
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    ping = ["redis-cli", "-p", str(port), "ping"]
    deadline = time.monotonic() + 10
    while subprocess.run(ping, capture_output=True).stdout != b"PONG\n":
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.1)
    return process


async def send_audio(ws, pcm: bytes) -> None:
    for offset in range(0, len(pcm), 3200):  # 100 ms frames, ten times real time
        await ws.send(pcm[offset : offset + 3200])
        await asyncio.sleep(0.01)


async def next_final(ws) -> dict:
    async with asyncio.timeout(60):
        while (event := json.loads(await ws.recv()))["type"] != "caption.final":
            pass
    return event


def test_a_redis_restart_mid_utterance_loses_no_final(live_cast, web_servers, chaos, whisper):
    # the real model (whisper): every word of the utterance cut by the restart must be heard
    port = free_port()
    redis = start_redis(port)
    tokens = [ApiToken.issue(user)[1] for user in (live_cast.bob, live_cast.dave)]

    async def meeting(base: str) -> list[str]:
        nonlocal redis
        room = base.replace("http", "ws") + "/ws/meetings/weekly-sync/?token="
        async with (
            websockets.connect(room + tokens[0]) as bob,
            websockets.connect(room + tokens[1]) as dave,
        ):
            for ws in (bob, dave):
                assert json.loads(await ws.recv())["type"] == "session.ready"
            heard = []
            for speech, restart in ((FIRST, False), (SECOND, True)):
                pcm, rate = speech.pcm16()
                await bob.send(json.dumps({"type": "session.start", "sample_rate": rate}))
                await send_audio(bob, pcm[: len(pcm) // 4 * 2])
                if restart:  # Redis goes away, and comes back empty, mid-sentence
                    stop_process(redis)
                    redis = start_redis(port)
                await send_audio(bob, pcm[len(pcm) // 4 * 2 :] + silence(1.0, rate))
                await bob.send(json.dumps({"type": "session.stop"}))
                heard.append((await next_final(dave))["text"])
            return heard

    try:
        with web_servers(REDIS_URL=f"redis://127.0.0.1:{port}/0") as base:
            heard = asyncio.run(meeting(base))
    finally:
        stop_process(redis)
    for speech, text in zip((FIRST, SECOND), heard, strict=True):
        assert word_error_rate(speech.reference, text) <= 0.2, text
    assert list(Segment.objects.order_by("start_ms").values_list("text", flat=True)) == heard
