"""The caption viewer's socket (/ws/captions/<token>/): captions only, read-only, revocable.

Through the real ASGI application and the real Redis channel layer; the room's events come
from the real actions, as the live consumer sends them (tests/base.py has the cast).
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from caption_views import actions as view_actions
from caption_views.consumers import CONNECTS_PER_MINUTE
from caption_views.models import CaptionLink
from meetings import actions, events
from meetings.models import Meeting, Segment
from tests.base import communicator
from tests.live.streaming import collect
from tests.test_meeting_end import joined, until

pytestmark = pytest.mark.asyncio


async def new_link(cast) -> tuple[CaptionLink, str]:
    return await database_sync_to_async(CaptionLink.issue)(cast.meeting, cast.alice, "Projector")


async def viewer(raw: str):
    """A viewer of the link, without any login, connected and past viewer.ready."""
    comm = await communicator(f"/ws/captions/{raw}/")
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from(timeout=5)
    assert ready["type"] == "viewer.ready"
    comm.ready = ready
    return comm


async def closed_with(comm) -> tuple[list[dict], int | None]:
    """What the server sent before it closed, and its close code."""
    sent = []
    while (output := await comm.receive_output(timeout=5))["type"] == "websocket.send":
        sent.append(output)
    assert output["type"] == "websocket.close"
    return sent, output.get("code")


def store_final(meeting: Meeting, speaker, text: str, item_id: str) -> Segment:
    return actions.do_store_final(
        meeting,
        speaker,
        broadcast=True,
        item_id=item_id,
        text=text,
        start_ms=1000,
        end_ms=2000,
        avg_logprob=-0.1,
        confidence=0.9,
        language="en",
        engine="fake",
    )


async def test_it_forwards_only_captions_and_the_meetings_end(live_cast):
    meeting = live_cast.meeting
    await database_sync_to_async(live_cast.factory.make_segment)(meeting, live_cast.bob)
    _link, raw = await new_link(live_cast)
    view = await viewer(raw)
    # what was just said, without ids, confidences or timings
    assert view.ready == {
        "type": "viewer.ready",
        "ended": False,
        "history": [
            {
                "type": "caption.final",
                "item_id": "item-0",
                "text": "Sentence number 0.",
                "speaker": {"name": "Bob"},
            }
        ],
    }

    # The room says much more than captions: presence, bookmarks, speech. None of it comes.
    dave = await joined(live_cast.dave)
    await database_sync_to_async(actions.do_add_bookmark)(meeting, live_cast.dave, "private")
    await actions.announce(
        meeting.pk, events.speech_event("speech.started", live_cast.bob, "i1", 0)
    )
    await actions.announce(meeting.pk, events.caption_partial(live_cast.bob, "i1", "The budget"))
    await database_sync_to_async(store_final)(meeting, live_cast.bob, "The budget is fine.", "i1")
    await database_sync_to_async(actions.do_end_meeting)(meeting, live_cast.alice)
    got = await collect(view, until("meeting.ended"), within=5)
    assert got == [
        {
            "type": "caption.partial",
            "item_id": "i1",
            "text": "The budget",
            "speaker": {"name": "Bob"},
        },
        {
            "type": "caption.final",
            "item_id": "i1",
            "text": "The budget is fine.",
            "speaker": {"name": "Bob"},
        },
        {"type": "meeting.ended"},
    ]
    await database_sync_to_async(actions.do_reopen_meeting)(meeting, live_cast.alice)
    assert await collect(view, until("meeting.reopened"), within=5) == [
        {"type": "meeting.reopened"}
    ]
    await view.disconnect()
    await dave.disconnect()


@pytest.mark.parametrize(
    "sent",
    [
        {"bytes_data": b"\x00\x00" * 1600},  # audio
        {"text_data": '{"type": "session.start", "sample_rate": 16000}'},
        {"text_data": '{"type": "bookmark.add", "note": "x"}'},
        {"text_data": '{"type": "ping"}'},
    ],
)
async def test_it_closes_a_viewer_that_sends_anything(live_cast, sent):
    _link, raw = await new_link(live_cast)
    view = await viewer(raw)
    await view.send_to(**sent)
    assert await closed_with(view) == ([], 4405)
    await view.disconnect()
    count = await database_sync_to_async(live_cast.meeting.bookmarks.count)()
    assert count == 0


async def test_revoking_closes_every_open_viewer_and_refuses_new_ones(live_cast):
    link, raw = await new_link(live_cast)
    _other, other_raw = await new_link(live_cast)
    first, second, unrelated = await viewer(raw), await viewer(raw), await viewer(other_raw)
    assert await database_sync_to_async(view_actions.do_revoke_link)(link)
    for view in (first, second):
        sent, code = await closed_with(view)
        assert code == 4410
        assert [s["text"] for s in sent] == [
            '{"type": "viewer.revoked", "message": '
            '"This caption link was revoked by a host of the meeting."}'
        ]
        await view.disconnect()
    assert await unrelated.receive_nothing(timeout=0.5)  # another link goes on

    again = await communicator(f"/ws/captions/{raw}/")
    assert (await again.connect())[0]
    assert await closed_with(again) == ([], 4404)
    await again.disconnect()
    await unrelated.disconnect()


async def test_it_refuses_unknown_tokens(live_cast):
    for raw in ("cv_nothing-like-it", "x"):
        comm = await communicator(f"/ws/captions/{raw}/")
        assert (await comm.connect())[0]
        assert await closed_with(comm) == ([], 4404)
        await comm.disconnect()


async def test_it_limits_new_connections_per_link(live_cast):
    _link, raw = await new_link(live_cast)
    for _ in range(CONNECTS_PER_MINUTE):
        view = await viewer(raw)
        await view.disconnect()
    refused = await communicator(f"/ws/captions/{raw}/")
    assert (await refused.connect())[0]
    assert await closed_with(refused) == ([], 4429)
    await refused.disconnect()
