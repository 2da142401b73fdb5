"""Rights taken away reach the sockets that are already open.

Before the fix, removing a member, making a speaker a listener, deactivating a user or revoking
a token left their open connections working: they went on hearing the room, and speaking in it.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import override_settings

from meetings import actions
from meetings.models import ApiToken, Membership
from tests.base import communicator
from tests.live.streaming import silence, stream
from tests.speech import clip

pytestmark = pytest.mark.asyncio


async def joined(user=None, path="/ws/meetings/weekly-sync/", **kwargs):
    comm = await communicator(path, user, **kwargs)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "session.ready"
    return comm


async def next_for_me(comm) -> dict:
    """The next output that is not the room's presence or caption traffic."""
    while True:
        output = await comm.receive_output(timeout=5)
        if output["type"] != "websocket.send":
            return output
        event = json.loads(output["text"])
        if not event["type"].startswith(("presence.", "speech.", "caption.")):
            return output


async def assert_closed_with(comm, code: int, says: str) -> None:
    error = await next_for_me(comm)
    assert error["type"] == "websocket.send" and says in error["text"]
    closed = await next_for_me(comm)
    assert closed == {"type": "websocket.close", "code": code}
    await comm.disconnect()


async def test_a_removed_member_is_closed_out_of_the_room(live_cast):
    bob = await joined(live_cast.bob)
    alice = await joined(live_cast.alice)
    await database_sync_to_async(actions.do_remove_member)(live_cast.meeting, live_cast.bob)
    await assert_closed_with(bob, 4403, "no longer a participant")
    await alice.send_json_to({"type": "ping"})
    assert (await next_for_me(alice))["text"] == '{"type": "pong"}'
    await alice.disconnect()


async def test_a_deactivated_user_is_closed_out_of_every_socket(live_cast):
    room = await joined(live_cast.bob)
    personal = await joined(live_cast.bob, "/ws/realtime/transcribe")
    await database_sync_to_async(actions.do_deactivate_user)(live_cast.bob)
    await assert_closed_with(room, 4401, "revoked")
    await assert_closed_with(personal, 4401, "revoked")


async def test_a_revoked_token_closes_the_sockets_it_opened_and_no_others(live_cast):
    token, raw = await database_sync_to_async(ApiToken.issue)(live_cast.bob)
    by_token = await joined(origin=None, headers=[(b"authorization", f"Bearer {raw}".encode())])
    by_cookie = await joined(live_cast.bob)
    await database_sync_to_async(actions.do_revoke_token)(token)
    await assert_closed_with(by_token, 4401, "revoked")
    await by_cookie.send_json_to({"type": "ping"})
    assert (await next_for_me(by_cookie))["text"] == '{"type": "pong"}'
    await by_cookie.disconnect()


async def test_a_speaker_made_listener_stops_being_captioned_but_stays(live_cast):
    pcm, rate = clip("A_LS_1089-134691-0000").pcm16()
    bob = await joined(live_cast.bob)
    await bob.send_json_to({"type": "session.start", "sample_rate": rate})
    await stream(bob, pcm[: len(pcm) // 2], rate)
    await database_sync_to_async(actions.do_set_role)(
        live_cast.meeting, live_cast.bob, Membership.Role.LISTENER
    )
    error = await next_for_me(bob)
    assert "listener now" in error["text"]
    # audio still in flight from the page is dropped, and the connection stays open
    await stream(bob, pcm[len(pcm) // 2 :] + silence(1.0, rate), rate)
    await bob.send_json_to({"type": "ping"})
    assert (await next_for_me(bob))["text"] == '{"type": "pong"}'
    late = []
    while not await bob.receive_nothing(timeout=2):
        late.append(await bob.receive_json_from())
    assert not [e for e in late if e["type"] == "caption.final"]
    await bob.disconnect()


@override_settings(CAPTIONS_ACCESS_RECHECK_SECONDS=1)
async def test_changes_made_without_the_actions_are_noticed_too(live_cast):
    bob = await joined(live_cast.bob)
    dave = await joined(live_cast.dave)
    await database_sync_to_async(
        Membership.objects.filter(meeting=live_cast.meeting, user=live_cast.bob).delete
    )()
    await assert_closed_within(bob, 4403, "no longer a participant")
    await database_sync_to_async(Session.objects.all().delete)()  # everyone logged out
    await assert_closed_within(dave, 4401, "session ended")


async def assert_closed_within(comm, code: int, says: str, seconds: float = 15) -> None:
    output = await comm.receive_output(timeout=seconds)
    while output["type"] == "websocket.send" and '"presence.' in output["text"]:
        output = await comm.receive_output(timeout=seconds)
    assert says in output["text"]
    assert await next_for_me(comm) == {"type": "websocket.close", "code": code}
    await comm.disconnect()
