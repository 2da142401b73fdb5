"""No failure of one caption silences a speaker: every final is stored, retried or reported.

Before the fix, a 40-character `language` made storing every final fail: one `upstream_error`,
then nothing stored or shown for that speaker while their audio kept flowing. A database or
Redis error on one final ended the forwarding task the same way, silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer
from django.db import connection

from meetings.models import Segment
from tests.base import communicator
from tests.live.streaming import collect, of_type, silence, stream
from tests.speech import clip, word_error_rate

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("whisper")]

FIRST = clip("A_LS_1089-134691-0000")
SECOND = clip("A_LS_1089-134686-0000")


async def joined(user, path="/ws/meetings/weekly-sync/"):
    comm = await communicator(path, user)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def say(comm, speech, *, start: dict | None = None) -> list[dict]:
    """One utterance, then session.stop; every event up to session.stopped."""
    pcm, rate = speech.pcm16()
    await comm.send_json_to({"type": "session.start", "sample_rate": rate, **(start or {})})
    await stream(comm, pcm + silence(1.0, rate), rate)
    await comm.send_json_to({"type": "session.stop"})
    return await collect(comm, lambda e: e["type"] == "session.stopped")


def _run_sql(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@asynccontextmanager
async def failing_segment_inserts(times: int) -> AsyncIterator[None]:
    """The real database refuses the next `times` segment inserts (a trigger raises)."""
    await database_sync_to_async(_run_sql)(
        "CREATE SEQUENCE test_segment_failures",
        f"""
        CREATE FUNCTION test_fail_segment_insert() RETURNS trigger AS $$
        BEGIN
          -- nextval is not rolled back with the failed insert: it counts the attempts
          IF nextval('test_segment_failures') <= {int(times)} THEN
            RAISE EXCEPTION 'injected failure of a segment insert';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql
        """,
        "CREATE TRIGGER test_fail_segment_insert BEFORE INSERT ON meetings_segment "
        "FOR EACH ROW EXECUTE FUNCTION test_fail_segment_insert()",
    )
    try:
        yield
    finally:
        await database_sync_to_async(_run_sql)(
            "DROP TRIGGER test_fail_segment_insert ON meetings_segment",
            "DROP FUNCTION test_fail_segment_insert()",
            "DROP SEQUENCE test_segment_failures",
        )


def stored_texts(meeting) -> list[str]:
    return list(Segment.objects.for_meeting(meeting).values_list("text", flat=True))


async def test_a_language_that_is_not_a_code_is_refused_and_captions_go_on(live_cast):
    comm = await joined(live_cast.bob)
    await comm.send_json_to({"type": "session.start", "language": "x" * 40})
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "invalid_message"
    assert "language" in error["message"]

    events = await say(comm, FIRST)
    finals = of_type(events, "caption.final")
    assert len(finals) == 1 and word_error_rate(FIRST.reference, finals[0]["text"]) <= 0.2
    assert not of_type(events, "error")
    stored = await database_sync_to_async(stored_texts)(live_cast.meeting)
    assert stored == [finals[0]["text"]]
    await comm.disconnect()


async def test_a_final_whose_insert_fails_once_is_stored_on_the_next_try(live_cast):
    speaker = await joined(live_cast.bob)
    listener = await joined(live_cast.dave)
    async with failing_segment_inserts(1):
        events = await say(speaker, FIRST)
    finals = of_type(events, "caption.final")
    assert len(finals) == 1 and not of_type(events, "error")
    heard = await collect(listener, lambda e: e["type"] == "caption.final")
    assert heard[-1]["segment_id"] == finals[0]["segment_id"]
    stored = await database_sync_to_async(stored_texts)(live_cast.meeting)
    assert stored == [finals[0]["text"]]
    for comm in (speaker, listener):
        await comm.disconnect()


async def test_a_final_that_cannot_be_stored_is_reported_and_the_next_one_works(live_cast):
    comm = await joined(live_cast.bob)
    async with failing_segment_inserts(1000):
        events = await say(comm, FIRST)
    assert not of_type(events, "caption.final")
    [error] = of_type(events, "error")
    assert error["code"] == "caption_not_saved"

    events = await say(comm, SECOND)
    finals = of_type(events, "caption.final")
    assert len(finals) == 1 and word_error_rate(SECOND.reference, finals[0]["text"]) <= 0.2
    stored = await database_sync_to_async(stored_texts)(live_cast.meeting)
    assert stored == [finals[0]["text"]]
    await comm.disconnect()


async def test_a_final_whose_broadcast_fails_reaches_the_room_on_the_next_try(live_cast):
    speaker = await joined(live_cast.bob)
    listener = await joined(live_cast.dave)
    real_group_send = RedisChannelLayer.group_send
    failed = []

    async def redis_fails_once(layer, group, message):
        if message["type"] == "room.caption_final" and not failed:
            failed.append(message)
            raise ConnectionError("injected: Redis went away")
        return await real_group_send(layer, group, message)

    with mock.patch.object(
        RedisChannelLayer, "group_send", autospec=True, side_effect=redis_fails_once
    ):
        events = await say(speaker, FIRST)
    assert failed, "the broadcast failed once"
    finals = of_type(events, "caption.final")
    assert len(finals) == 1 and not of_type(events, "error")
    heard = of_type(
        await collect(listener, lambda e: e["type"] == "caption.final"), "caption.final"
    )
    assert [f["segment_id"] for f in heard] == [finals[0]["segment_id"]]
    assert len(await database_sync_to_async(stored_texts)(live_cast.meeting)) == 1
    for comm in (speaker, listener):
        await comm.disconnect()
