"""Nobody runs up the operator's chat costs through live translation.

Before the fix a listener sending ``translation.choose`` every 50 ms had the same caption
translated again and again (each choice cancelled the history task, whose ``finally`` let go of
the claim while the chat call still ran), without any limit on choosing; no budget capped a
meeting or a day; and a failure showed listeners the chat endpoint's host, port and model.
Through config.asgi.application and the real Redis, with the stand-in chat server counting.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.db import database_sync_to_async

from meetings.budget import CHAT_TOKENS
from tests.base import communicator
from tests.chat_server import API_KEY, MODEL, chat_server
from tests.test_translation_glossary import captions_sent, reply, to_french
from translations.models import Translation

pytestmark = pytest.mark.asyncio

ROOM = "/ws/meetings/weekly-sync/"
CAPTIONS = ["Welcome, everyone.", "The budget.", "The first item."]


def use(settings, server) -> None:
    settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY = (
        server.base_url,
        MODEL,
        API_KEY,
    )


@pytest.fixture
def chat(settings):
    """A stand-in model that takes a second to answer, as a real one may."""
    with chat_server(reply, delay=1.0) as server:
        use(settings, server)
        yield server


@database_sync_to_async
def said(cast, texts, meeting=None):
    return [
        cast.factory.make_segment(meeting or cast.meeting, cast.bob, text=t, language="en")
        for t in texts
    ]


@database_sync_to_async
def stored(language):
    return dict(Translation.objects.filter(language=language).values_list("segment_id", "text"))


async def join(user, room=ROOM):
    comm = await communicator(room, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def drain(comm, quiet=1.0) -> list[dict]:
    got = []
    while not await comm.receive_nothing(timeout=quiet):
        got.append(await comm.receive_json_from())
    return got


async def test_a_flood_of_choices_asks_for_each_translation_once(live_cast, chat, settings):
    # the claims alone are under test here: no rate limit stops the flood
    settings.CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE = 10_000
    settings.CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE = 10_000
    segments = await said(live_cast, CAPTIONS)
    dave = await join(live_cast.dave)
    for _ in range(40):  # one every 100 ms for 4 s, each while the model is still answering
        await dave.send_json_to({"type": "translation.choose", "language": "fr"})
        await asyncio.sleep(0.1)
    for _ in range(150):
        if len(await stored("fr")) == len(CAPTIONS):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(chat.delay + 1.0)  # a call started late would have arrived by now
    got = await drain(dave)

    assert sorted(captions_sent(chat)) == sorted(CAPTIONS)  # one request each, no more
    assert await stored("fr") == {s.pk: to_french(s.text) for s in segments}
    # and the listener has every one of them
    translated = {e["segment_id"]: e["text"] for e in got if e["type"] == "caption.translated"}
    assert translated == {s.pk: to_french(s.text) for s in segments}
    assert [e for e in got if e["type"] == "error"] == []
    await dave.disconnect()


async def test_choosing_is_rate_limited_per_user_and_per_room(live_cast, chat, settings):
    settings.CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE = 3
    settings.CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE = 5
    dave, alice = await join(live_cast.dave), await join(live_cast.alice)

    async def choose(comm, language):
        await comm.send_json_to({"type": "translation.choose", "language": language})
        while (event := await comm.receive_json_from(timeout=5))["type"].startswith("presence."):
            pass  # who comes and goes in the room
        return event

    for language in ["fr", "de", "fr"]:
        assert await choose(dave, language) == {"type": "translation.chosen", "language": language}
    refused = await choose(dave, "de")
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    assert refused["message"].startswith("Too many translation choices in the last minute")
    # turning translation off costs nothing and is always allowed
    assert await choose(dave, None) == {"type": "translation.chosen", "language": None}

    # the room has had 3 of its 5: alice gets 2, then the room's limit refuses her too
    for language in ["fr", "de"]:
        assert (await choose(alice, language))["type"] == "translation.chosen"
    assert (await choose(alice, "fr"))["code"] == "rate_limited"
    for comm in (dave, alice):
        assert [e for e in await drain(comm, 0.3) if e["type"] == "error"] == []
    for comm in (dave, alice):
        await comm.disconnect()


async def test_the_meetings_budget_stops_calls_and_says_so(live_cast, chat, settings):
    settings.LLM_TOKENS_PER_MEETING = 1  # the first call spends it
    segments = await said(live_cast, CAPTIONS)
    dave = await join(live_cast.dave)
    await dave.send_json_to({"type": "translation.choose", "language": "fr"})
    got = await drain(dave, chat.delay + 1.5)

    assert captions_sent(chat) == [segments[0].text]
    assert await stored("fr") == {segments[0].pk: to_french(segments[0].text)}
    (error,) = [e for e in got if e["type"] == "error"]
    assert error["code"] == "translation_failed"
    assert error["message"] == (
        "Captions are not translated into French right now: This meeting has used its budget "
        "for translations and summaries (1 tokens), which the server's operator sets. "
        "They go on in the original language."
    )
    # the endpoint's own count of the first call's tokens was counted against the meeting
    assert await database_sync_to_async(CHAT_TOKENS.spent_by)(live_cast.meeting.pk) > 20
    await dave.disconnect()


async def test_the_days_budget_stops_calls_in_every_meeting(live_cast, chat, settings):
    other = await database_sync_to_async(live_cast.factory.make_meeting)(
        live_cast.alice, title="Other", slug="other"
    )
    await database_sync_to_async(other.add_member)(live_cast.dave, "listener")
    await said(live_cast, CAPTIONS[:1], other)
    segments = await said(live_cast, CAPTIONS[1:])
    # whatever this run spent today already, one more token is left
    settings.LLM_TOKENS_PER_DAY = await database_sync_to_async(CHAT_TOKENS.spent_today)() + 1
    dave = await join(live_cast.dave, "/ws/meetings/other/")
    await dave.send_json_to({"type": "translation.choose", "language": "fr"})
    await drain(dave, chat.delay + 1.5)
    await dave.disconnect()
    assert captions_sent(chat) == CAPTIONS[:1]

    dave = await join(live_cast.dave)
    await dave.send_json_to({"type": "translation.choose", "language": "fr"})
    (error,) = [e for e in await drain(dave) if e["type"] == "error"]
    assert "The server has used today's budget for translations and summaries" in error["message"]
    assert "it starts again at midnight UTC" in error["message"]
    assert captions_sent(chat) == CAPTIONS[:1]  # nothing asked in this meeting
    assert not set(await stored("fr")) & {s.pk for s in segments}
    await dave.disconnect()


async def test_a_failure_names_no_host_port_or_model(live_cast, chat, caplog):
    chat.failing = True
    await said(live_cast, CAPTIONS[:1])
    dave = await join(live_cast.dave)
    with caplog.at_level(logging.WARNING, logger="chat.client"):
        await dave.send_json_to({"type": "translation.choose", "language": "fr"})
        got = await drain(dave, 5.0)  # the SDK tries three times
    (error,) = [e for e in got if e["type"] == "error"]
    host = chat.base_url.split("/")[2]
    assert error["code"] == "translation_failed"
    assert error["message"] == (
        "Captions are not translated into French right now: The language model answered with "
        "an error (HTTP 500). They go on in the original language."
    )
    for detail in (host, host.split(":")[1], "127.0.0.1", MODEL):
        assert detail not in error["message"]
    # the operator's log has what the listener was not shown
    assert any(host in r.getMessage() and MODEL in r.getMessage() for r in caplog.records)
    await dave.disconnect()
