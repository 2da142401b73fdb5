"""Live translation: each final translated once per chosen language, for every listener of it.

Real speech through the real consumer and speech model; listeners on two other Daphne processes
through the real Redis channel layer; a stand-in chat endpoint that translates with a glossary
(tests/test_translation_glossary.py) and counts what it was asked.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async

from meetings.models import ApiToken
from tests.base import communicator
from tests.chat_server import API_KEY, MODEL, chat_server, llm_settings
from tests.test_translation_glossary import captions_sent, reply, to_french
from translations.models import Translation

from .streaming import collect, of_type, speak_clip

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

ROOM = "/ws/meetings/weekly-sync/"
#: two utterances the glossary knows most words of
CLIPS = ("A_LS_1089-134691-0000", "A_LS_1089-134686-0001")


@pytest.fixture
def chat(settings):
    """The stand-in chat endpoint, and this process' LLM_* settings pointing at it."""
    with chat_server(reply) as server:
        settings.LLM_BASE_URL, settings.LLM_MODEL = server.base_url, MODEL
        settings.LLM_API_KEY = API_KEY
        yield server


async def join(user):
    comm = await communicator(ROOM, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def choose(comm, language):
    await comm.send_json_to({"type": "translation.choose", "language": language})
    return await collect(comm, lambda e: e["type"] == "translation.chosen", within=10)


async def remote_events(socket, until, within=60.0) -> list[dict]:
    found = []
    async with asyncio.timeout(within):
        while True:
            found.append(json.loads(await socket.recv()))
            if until(found):
                return found


def translated(events):
    return of_type(events, "caption.translated")


def rows(language):
    return list(Translation.objects.filter(language=language).order_by("segment_id"))


async def test_listeners_on_two_processes_get_each_final_translated_once(
    live_cast, chat, web_servers
):
    tokens = [
        (await database_sync_to_async(ApiToken.issue)(user))[1]
        for user in (live_cast.dave, live_cast.alice)
    ]
    with web_servers(**llm_settings(chat)) as one, web_servers(**llm_settings(chat)) as two:
        urls = [
            base.replace("http", "ws", 1) + f"{ROOM}?token={token}"
            for base, token in zip((one, two), tokens, strict=True)
        ]
        async with websockets.connect(urls[0]) as dave, websockets.connect(urls[1]) as alice:
            listeners = (dave, alice)
            for listener in listeners:
                assert json.loads(await listener.recv())["type"] == "session.ready"
            speaker = await join(live_cast.bob)  # on this process, which translates its finals
            heard = await speak_clip(speaker, CLIPS[0])  # before anyone chose a language

            # both choose at once, on two processes: that final is translated for them once
            for listener in listeners:
                await listener.send(json.dumps({"type": "translation.choose", "language": "fr"}))
            got = {}
            for listener in listeners:
                got[listener] = await remote_events(
                    listener, lambda e: e[-1]["type"] == "translation.chosen", 10
                )
                assert got[listener][-1] == {"type": "translation.chosen", "language": "fr"}
            heard += await speak_clip(speaker, CLIPS[1])  # said while they read in French
            finals = of_type(heard, "caption.final")
            assert len(finals) >= len(CLIPS)
            expected = {f["item_id"]: to_french(f["text"]) for f in finals}

            def all_translated(events):
                return {e["item_id"] for e in translated(events)} == set(expected)

            for listener in listeners:
                if not all_translated(got[listener]):
                    got[listener] += await remote_events(
                        listener, lambda e, before=got[listener]: all_translated(before + e)
                    )
                events = translated(got[listener])
                assert {e["item_id"]: e["text"] for e in events} == expected
                assert {e["language"] for e in events} == {"fr"}
                assert {e["segment_id"] for e in events} == {f["segment_id"] for f in finals}
            await speaker.disconnect()

    # one request per (segment, French), whatever the number of listeners and processes
    assert sorted(captions_sent(chat)) == sorted(f["text"] for f in finals)
    stored = await database_sync_to_async(rows)("fr")
    assert [(t.segment_id, t.text) for t in stored] == sorted(
        (f["segment_id"], to_french(f["text"])) for f in finals
    )
    # the speaker chose nothing: no translation came to them
    assert translated(heard) == []


async def test_a_listener_who_chooses_late_gets_the_history_translated_once(live_cast, chat):
    speaker = await join(live_cast.bob)
    heard = await speak_clip(speaker, CLIPS[0])
    (final,) = of_type(heard, "caption.final")
    assert chat.requests == []  # nobody had chosen a language

    dave = await join(live_cast.dave)
    await choose(dave, "fr")
    got = await collect(dave, lambda e: e["type"] == "caption.translated", within=30)
    assert got[-1]["item_id"] == final["item_id"]
    assert got[-1]["text"] == to_french(final["text"])

    # the next listener reads the stored one: nothing is translated again
    alice = await join(live_cast.alice)
    stored = await choose(alice, "fr")
    more = stored + await collect(alice, lambda e: e["type"] == "caption.translated", within=10)
    assert translated(more)[-1]["text"] == to_french(final["text"])
    assert captions_sent(chat) == [final["text"]]

    # off again: the next final comes untranslated
    assert (await choose(dave, None))[-1] == {"type": "translation.chosen", "language": None}
    await choose(alice, None)
    await speak_clip(speaker, CLIPS[1])
    later = await collect(dave, lambda e: e["type"] == "caption.final", within=30)
    await asyncio.sleep(1.0)
    while not await dave.receive_nothing(timeout=0.5):
        later.append(await dave.receive_json_from())
    assert translated(later) == []
    assert len(chat.requests) == 1
    for comm in (speaker, dave, alice):
        await comm.disconnect()


async def test_a_failing_chat_endpoint_is_told_once_and_captions_go_on(live_cast, chat):
    chat.failing = True
    dave = await join(live_cast.dave)
    await choose(dave, "fr")
    speaker = await join(live_cast.bob)
    for name in CLIPS:
        await speak_clip(speaker, name)
    # each final was tried (the SDK retries a 500 twice), and each failure reached the group
    for _ in range(150):
        if len(chat.requests) >= 3 * len(CLIPS):
            break
        await asyncio.sleep(0.2)
    assert len(chat.requests) == 3 * len(CLIPS)
    await asyncio.sleep(1.0)
    got = []
    while not await dave.receive_nothing(timeout=1.0):
        got.append(await dave.receive_json_from())
    assert len(of_type(got, "caption.final")) >= len(CLIPS)  # the captions went on
    assert translated(got) == []
    (error,) = of_type(got, "error")
    assert error["code"] == "translation_failed"
    assert error["message"].startswith("Captions are not translated into French right now: ")
    assert "answered with an error (HTTP 500)" in error["message"]
    assert error["message"].endswith("They go on in the original language.")

    # the endpoint is back: the next final is translated again
    chat.failing = False
    heard = await speak_clip(speaker, CLIPS[0])
    final = of_type(heard, "caption.final")[-1]
    got = await collect(dave, lambda e: e["type"] == "caption.translated", within=30)
    assert got[-1]["text"] == to_french(final["text"])
    for comm in (speaker, dave):
        await comm.disconnect()


async def test_without_a_chat_endpoint_choosing_says_how_to_enable_it(live_cast, settings):
    settings.LLM_BASE_URL = ""
    dave = await join(live_cast.dave)
    await dave.send_json_to({"type": "translation.choose", "language": "fr"})
    error = await dave.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "translation_unavailable"
    assert error["message"].startswith("Translation is not set up on this server. Set LLM_")
    await dave.disconnect()


async def test_bad_choices_are_refused_and_outsiders_never_join(live_cast, chat):
    dave = await join(live_cast.dave)
    for language, reason in [
        ("xx", "translation.choose: 'xx' is not offered; choose one of en, fr, de"),
        ("French", "translation.choose: language must be a two-letter ISO 639-1 code such as 'fr'"),
    ]:
        await dave.send_json_to({"type": "translation.choose", "language": language})
        error = (await collect(dave, lambda e: e["type"] == "error", within=5))[-1]
        assert error["code"] == "invalid_message"
        assert error["message"].startswith(reason)
    await dave.disconnect()

    charlie = await communicator(ROOM, live_cast.charlie)
    await charlie.connect()
    assert (await charlie.receive_output(timeout=5))["code"] == 4403
    await charlie.disconnect()
