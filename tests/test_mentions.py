"""Mentions: the words each person watches for, set on the profile page, given to the room.

Until someone sets the list, their current name is watched (so a rename is followed); the
list is bounded and refuses what no caption could match or no page should show.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from meetings.forms import WATCH_WORD_MAX_LENGTH, WATCH_WORDS_MAX

PROFILE = "/accounts/profile/"


def room_settings(client: Client) -> dict:
    response = client.get("/m/weekly-sync/")
    assert response.status_code == 200
    return json.loads(_json_script(response.content.decode()))


def _json_script(html: str) -> str:
    start = html.index('<script id="mention-settings" type="application/json">')
    body = html[start:].split(">", 1)[1]
    return body.split("</script>", 1)[0]


def test_it_watches_the_display_name_by_default(client, cast):
    client.force_login(cast.dave)
    page = client.get(PROFILE).content.decode()
    assert 'name="watch_words"' in page
    assert ">\nDave</textarea>" in page
    assert 'name="mention_notifications"' in page
    assert 'name="mention_notifications" id="id_mention_notifications" checked' not in page
    assert room_settings(client) == {"words": ["Dave"], "notify": False}


def test_it_follows_a_rename_while_the_list_was_never_set(client, cast):
    client.force_login(cast.dave)
    # the form as shown, with a new name
    client.post(PROFILE, {"display_name": "David", "watch_words": "Dave"})
    cast.dave.refresh_from_db()
    assert cast.dave.watch_words is None
    assert cast.dave.mention_words == ["David"]
    assert room_settings(client)["words"] == ["David"]


def test_it_saves_the_list_and_the_notifications(client, cast):
    client.force_login(cast.dave)
    typed = "budget\r\nDave\r\n\r\n  road \t map \r\nBUDGET\r\nZoë"
    response = client.post(
        PROFILE, {"display_name": "Dave", "watch_words": typed, "mention_notifications": "on"}
    )
    assert response.status_code == 302
    cast.dave.refresh_from_db()
    # blank lines dropped, spaces collapsed, the same word in other case kept once
    assert cast.dave.watch_words == ["budget", "Dave", "road map", "Zoë"]
    assert cast.dave.mention_notifications is True
    assert room_settings(client) == {"words": ["budget", "Dave", "road map", "Zoë"], "notify": True}
    # a rename no longer changes a list the person chose
    client.post(PROFILE, {"display_name": "David", "watch_words": typed})
    cast.dave.refresh_from_db()
    assert cast.dave.mention_words == ["budget", "Dave", "road map", "Zoë"]
    assert cast.dave.mention_notifications is False  # the box was left unticked


def test_an_empty_list_watches_nothing(client, cast):
    client.force_login(cast.dave)
    client.post(PROFILE, {"display_name": "Dave", "watch_words": "  \r\n"})
    cast.dave.refresh_from_db()
    assert cast.dave.watch_words == []
    assert room_settings(client)["words"] == []


def test_a_post_without_the_list_leaves_it_alone(client, cast):
    cast.dave.watch_words = ["budget"]
    cast.dave.save(update_fields=["watch_words"])
    client.force_login(cast.dave)
    client.post(PROFILE, {"display_name": "Dave D."})
    cast.dave.refresh_from_db()
    assert cast.dave.watch_words == ["budget"]
    assert cast.dave.name == "Dave D."


@pytest.mark.parametrize(
    "typed, message",
    [
        ("\n".join(f"word{n}" for n in range(WATCH_WORDS_MAX + 1)), "Watch at most 20"),
        ("x" * (WATCH_WORD_MAX_LENGTH + 1), "is too long"),
        ("Dave\u202eevil", "control character U+202E"),
        ("Dave\x07", "control character U+0007"),
        ("Dave\x00", "Null characters are not allowed"),
        ("!!!", "use at least one letter or digit"),
    ],
)
def test_it_refuses_lists_it_cannot_watch(client, cast, typed, message):
    client.force_login(cast.dave)
    response = client.post(PROFILE, {"display_name": "Dave", "watch_words": typed})
    assert response.status_code == 200
    assert message in response.content.decode()
    cast.dave.refresh_from_db()
    assert cast.dave.watch_words is None


def test_each_person_gets_their_own_words_in_the_room(client, cast):
    cast.bob.watch_words = ["release"]
    cast.bob.save(update_fields=["watch_words"])
    client.force_login(cast.bob)
    assert room_settings(client)["words"] == ["release"]
    client.force_login(cast.alice)
    assert room_settings(client)["words"] == ["Alice"]
