"""The close codes of docs/PROTOCOL.md, one connection at a time, and the pages that get them
from the server's one definition (meetings/close_codes.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from channels.db import database_sync_to_async
from django.test import Client

from caption_views.models import CaptionLink
from meetings.close_codes import CODES, for_pages
from meetings.models import ApiToken

from .base import communicator

ROOT = Path(__file__).resolve().parent.parent
SERVED = re.compile(r'<script id="close-codes" type="application/json">(.*?)</script>', re.S)


async def close_code(comm) -> int | None:
    connected, _ = await comm.connect()
    assert connected
    output = await comm.receive_output(timeout=5)
    while output["type"] == "websocket.send":
        output = await comm.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    await comm.disconnect()
    return output.get("code")


async def test_it_refuses_anonymous_users_with_4401(live_cast):
    assert await close_code(await communicator("/ws/meetings/weekly-sync/")) == 4401


async def test_it_refuses_outsiders_with_4403(live_cast):
    assert (
        await close_code(await communicator("/ws/meetings/weekly-sync/", live_cast.charlie)) == 4403
    )


async def test_it_answers_unknown_meetings_with_4404(live_cast):
    assert (
        await close_code(await communicator("/ws/meetings/no-such-room/", live_cast.alice)) == 4404
    )


async def test_it_closes_listeners_who_send_audio_with_4403(live_cast):
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.dave)
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from(timeout=5)
    assert ready["type"] == "session.ready"
    assert ready["participant"]["role"] == "listener"
    await comm.send_to(bytes_data=b"\x00\x00" * 1600)
    error = await comm.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "code": "forbidden",
        "message": "Listeners cannot send audio.",
    }
    while (output := await comm.receive_output(timeout=5))["type"] == "websocket.send":
        pass
    assert output["type"] == "websocket.close" and output["code"] == 4403
    await comm.disconnect()


async def test_it_closes_frames_over_one_mebibyte_with_1009(live_cast):
    comm = await communicator("/ws/meetings/weekly-sync/", live_cast.bob)
    await comm.connect()
    await comm.receive_json_from(timeout=5)
    await comm.send_to(bytes_data=b"\x00" * (1024 * 1024 + 2))
    output = await comm.receive_output(timeout=5)
    assert output["type"] == "websocket.close" and output["code"] == 1009
    await comm.disconnect()


async def test_it_rejects_a_foreign_origin(live_cast):
    comm = await communicator(
        "/ws/meetings/weekly-sync/", live_cast.alice, origin=b"https://evil.example"
    )
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


async def test_it_accepts_an_api_token_in_the_header_or_the_query(live_cast):
    _, raw = await database_sync_to_async(ApiToken.issue)(live_cast.bob)
    for comm in (
        await communicator(
            "/ws/meetings/weekly-sync/",
            origin=None,
            headers=[(b"authorization", f"Bearer {raw}".encode())],
        ),
        await communicator(f"/ws/meetings/weekly-sync/?token={raw}", origin=None),
    ):
        connected, _ = await comm.connect()
        assert connected
        ready = await comm.receive_json_from(timeout=5)
        assert ready["type"] == "session.ready"
        assert ready["participant"] == {"id": live_cast.bob.pk, "name": "Bob", "role": "speaker"}
        await comm.disconnect()


async def test_it_refuses_a_revoked_token_with_4401(live_cast):
    token, raw = await database_sync_to_async(ApiToken.issue)(live_cast.bob)
    await database_sync_to_async(token.revoke)()
    comm = await communicator(f"/ws/meetings/weekly-sync/?token={raw}", origin=None)
    assert await close_code(comm) == 4401


def served_codes(html: str) -> dict:
    found = SERVED.findall(html)
    assert len(found) == 1
    return json.loads(found[0])


def test_the_room_and_caption_link_pages_serve_the_servers_codes(cast):
    client = Client()
    client.force_login(cast.bob)
    room = client.get("/m/weekly-sync/")
    assert room.status_code == 200
    _, raw = CaptionLink.issue(cast.meeting, cast.alice, "")
    view = Client().get(f"/captions/{raw}/")
    assert view.status_code == 200
    for page in (room, view):
        assert served_codes(page.content.decode()) == for_pages()
    codes = for_pages()
    assert codes["codes"]["TOO_MANY"] == 4429 and codes["codes"]["REVOKED"] == 4410
    assert codes["messages"]["4401"] == "You are logged out. Log in again to rejoin the meeting."
    assert codes["final"] == [4401, 4403, 4404, 4410]


def test_the_browser_code_keeps_no_close_code_of_its_own():
    for path in (ROOT / "static" / "js").glob("*.js"):
        numbers = {int(n) for n in re.findall(r"\b(\d{4})\b", path.read_text())}
        assert not numbers & set(CODES.values()), path.name


def test_the_protocol_lists_every_close_code():
    protocol = (ROOT / "docs" / "PROTOCOL.md").read_text()
    listed = {int(n) for n in re.findall(r"^\| (\d{4}) \|", protocol, re.M)}
    assert listed == set(CODES.values())


def test_every_code_is_a_plain_int():
    # Daphne refuses to close with an int subclass: the client would see 1011, not the code
    assert CODES and all(type(code) is int for code in CODES.values())
