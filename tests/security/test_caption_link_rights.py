"""An open caption viewer ends when the host who made its link stops being a host.

Through the real ASGI application and the real Redis channel layer: the change is made by the
real actions, which tell the maker's group (``meetings.actions.notify_access_changed_on_commit``);
finals are stored and broadcast as the live consumer does.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from caption_views.models import CaptionLink
from meetings import actions
from meetings.models import Membership
from tests.base import communicator
from tests.security.rights_changes import LOSSES, make_bob_host
from tests.test_caption_views_socket import store_final, viewer

pytestmark = pytest.mark.asyncio

ENDED = {
    "type": "viewer.revoked",
    "message": "This caption link stopped: whoever made it may no longer share this meeting's "
    "captions.",
}


async def what_it_got(comm, within: float = 5) -> tuple[list[dict], int | None]:
    """Every event sent until the close (its code), or until ``within`` seconds pass (None)."""
    sent: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        # not receive_output's own timeout: it would cancel the application
        if await comm.receive_nothing(timeout=min(left, 0.1)):
            continue
        output = await comm.receive_output()
        if output["type"] == "websocket.close":
            return sent, output.get("code")
        sent.append(json.loads(output["text"]))
    return sent, None


async def links_of_bob_and_alice(cast) -> tuple[str, str]:
    await database_sync_to_async(make_bob_host)(cast)
    _link, bobs = await database_sync_to_async(CaptionLink.issue)(cast.meeting, cast.bob)
    _link, alices = await database_sync_to_async(CaptionLink.issue)(cast.meeting, cast.alice)
    return bobs, alices


@pytest.mark.parametrize("loss", LOSSES)
async def test_an_open_viewer_closes_when_its_maker_stops_being_a_host(live_cast, loss):
    """Failed before the fix: the viewer stayed open and showed the finals said after."""
    bobs, alices = await links_of_bob_and_alice(live_cast)
    view, other = await viewer(bobs), await viewer(alices)

    await database_sync_to_async(LOSSES[loss])(live_cast)
    await database_sync_to_async(store_final)(
        live_cast.meeting, live_cast.alice, "Said after the change.", "after"
    )
    assert await what_it_got(view) == ([ENDED], 4410)
    await view.disconnect()
    # the other host's link goes on, and has the final
    got, _ = await what_it_got(other, within=1)
    assert [event["text"] for event in got] == ["Said after the change."]
    await other.disconnect()

    again = await communicator(f"/ws/captions/{bobs}/")
    assert (await again.connect())[0]
    assert await what_it_got(again) == ([], 4404)
    await again.disconnect()


async def test_a_viewer_stays_open_when_its_maker_keeps_the_right(live_cast):
    """New with the fix: a change that leaves the maker a host (owner too) closes nothing."""
    _bobs, alices = await links_of_bob_and_alice(live_cast)
    view = await viewer(alices)
    # dave is made a speaker: alice's group hears nothing, and her link is unaffected
    await database_sync_to_async(actions.do_set_role)(
        live_cast.meeting, live_cast.dave, Membership.Role.SPEAKER
    )
    # bob's removal tells bob's group: alice's viewer checks nothing and stays
    await database_sync_to_async(actions.do_remove_member)(live_cast.meeting, live_cast.bob)
    await database_sync_to_async(store_final)(
        live_cast.meeting, live_cast.alice, "Still here.", "still"
    )
    got, code = await what_it_got(view, within=1)
    assert code is None
    assert [event["text"] for event in got] == ["Still here."]
    await view.disconnect()


@override_settings(CAPTIONS_ACCESS_RECHECK_SECONDS=1)
async def test_a_change_made_without_the_actions_is_noticed_too(live_cast):
    """Failed before the fix: nothing rechecked an open viewer at all."""
    bobs, _alices = await links_of_bob_and_alice(live_cast)
    view = await viewer(bobs)
    await database_sync_to_async(
        Membership.objects.filter(meeting=live_cast.meeting, user=live_cast.bob).delete
    )()
    assert await what_it_got(view, within=10) == ([ENDED], 4410)
    await view.disconnect()
