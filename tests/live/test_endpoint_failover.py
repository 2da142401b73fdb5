"""A speech endpoint killed mid-utterance, with a second one configured: no final lost or doubled.

A real Daphne process captions a room through the OpenAI engine with two speech servers in
``OPENAI_REALTIME_ENDPOINT``. The one carrying the speaker's session (the process' ``/metrics``
tells which) is killed halfway through a sentence: the session moves to the other, the
unfinished sentence is replayed there, and every final arrives and is stored once. Started
again, the killed endpoint is seen healthy and takes the next new session.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import websockets
from prometheus_client.parser import text_string_to_metric_families

from meetings.models import ApiToken, Segment
from tests.speech import clip, word_error_rate
from tests.speech_server import API_KEY, SpeechServerProcess

from .streaming import silence
from .test_redis_restart import next_final, send_audio

SPEECHES = [
    clip("A_LS_1089-134691-0000"),  # "He could wait no longer."
    clip("A_LS_1272-128104-0000"),  # "Mr. Quilter is the apostle ..." (cut by the kill)
    clip("A_LS_61-70968-0000"),  # "He began a confused complaint ..." (after the move)
]


def endpoint_metrics(base: str) -> dict[str, tuple[float, float]]:
    """(sessions, healthy) of each speech endpoint, from the web process' /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        text = response.read().decode()
    figures: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name in {"captions_endpoint_sessions", "captions_endpoint_healthy"}:
            for sample in family.samples:
                figures.setdefault(sample.labels["endpoint"], {})[family.name] = sample.value
    return {
        url: (f["captions_endpoint_sessions"], f["captions_endpoint_healthy"])
        for url, f in figures.items()
    }


def wait_for(predicate, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


async def start_speaking(ws, rate: int) -> None:
    await ws.send(json.dumps({"type": "session.start", "sample_rate": rate}))


def test_a_speech_endpoint_killed_mid_utterance_loses_and_doubles_no_final(
    live_cast, web_servers, speech_servers
):
    servers = [speech_servers(), speech_servers()]
    urls = [server.realtime_url for server in servers]
    tokens = [ApiToken.issue(user)[1] for user in (live_cast.bob, live_cast.dave)]
    host_token = ApiToken.issue(live_cast.alice)[1]
    killed: list[SpeechServerProcess] = []

    async def meeting(base: str) -> tuple[list[str], dict]:
        room = base.replace("http", "ws") + "/ws/meetings/weekly-sync/?token="
        async with (
            websockets.connect(room + tokens[0]) as bob,
            websockets.connect(room + tokens[1]) as dave,
        ):
            for ws in (bob, dave):
                assert json.loads(await ws.recv())["type"] == "session.ready"
            heard = []
            for number, speech in enumerate(SPEECHES):
                pcm, rate = speech.pcm16()
                if number == 0:
                    await start_speaking(bob, rate)
                half = len(pcm) // 4 * 2
                await send_audio(bob, pcm[:half])
                if number == 1:  # the endpoint carrying bob's session dies mid-sentence
                    figures = await asyncio.to_thread(endpoint_metrics, base)
                    carrying = [url for url, (sessions, _) in figures.items() if sessions == 1]
                    assert len(carrying) == 1, figures
                    killed.append(servers[urls.index(carrying[0])])
                    killed[0].kill()
                await send_audio(bob, pcm[half:] + silence(1.0, rate))
                heard.append((await next_final(dave))["text"])
            # bob's session stays where it moved; the endpoint back must take the next one
            await asyncio.to_thread(killed[0].start)
            await asyncio.to_thread(
                wait_for, lambda: endpoint_metrics(base)[killed[0].realtime_url][1] == 1
            )
            async with websockets.connect(room + host_token) as alice:
                assert json.loads(await alice.recv())["type"] == "session.ready"
                await start_speaking(alice, 16000)
                await send_audio(alice, silence(0.5, 16000))
                await asyncio.sleep(1.0)
                return heard, await asyncio.to_thread(endpoint_metrics, base)

    try:
        for server in servers:
            server.start()
        environment = {
            "TRANSCRIPTION_ENGINE": "openai",
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": servers[0].base_url,
            "OPENAI_REALTIME_ENDPOINT": ",".join(urls),
        }
        with web_servers(**environment) as base:
            heard, figures = asyncio.run(meeting(base))
    finally:
        for server in servers:
            server.stop()

    for speech, text in zip(SPEECHES, heard, strict=True):
        assert word_error_rate(speech.reference, text) <= 0.2, text
    stored = list(Segment.objects.order_by("start_ms").values_list("text", flat=True))
    assert stored == heard, "every final stored once, in order"
    back, other = killed[0].realtime_url, next(url for url in urls if url != killed[0].realtime_url)
    assert figures == {back: (1, 1), other: (1, 1)}, "the endpoint back takes the new session"
