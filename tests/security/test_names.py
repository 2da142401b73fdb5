"""Names and other text people type, which reach exports and other people's screens.

Before the fix, a display name with a control character made the DOCX export of the whole
meeting fail with a 500, and a newline in it wrote extra cues into SRT and WebVTT.
"""

from __future__ import annotations

import io

import docx
import pytest
import srt
import webvtt

from meetings import actions
from meetings.models import Meeting, User

pytestmark = pytest.mark.django_db


BAD_NAMES = [
    "Eve\nEvil",
    "Eve\r\n2\n00:00:00,000 --> 00:00:09,000",
    "Eve\u2028Evil",
    "Eve\u2029Evil",
    "Eve\x85Evil",
    "Eve\x07",
    "Eve\x1b[31m",
    "Eve\tEvil",
    "Eve\u202eliveE",
    "\u200b\u200b",
    "E" * 101,
]
GOOD_NAMES = ["Zoë O'Brien-Łukasz", "李小龙", "Dev 👩‍💻", "محمد علی", "Ana (CFO) <she/her>"]


def signup(client, username: str, display_name: str):
    data = {
        "username": username,
        "display_name": display_name,
        "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    }
    return client.post("/accounts/signup/", data)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_signup_refuses_a_name_that_breaks_things(client, name):
    response = signup(client, "erin", name)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="errorlist' in page
    assert 'value="erin"' in page  # what was typed is kept
    assert not User.objects.filter(username="erin").exists()


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_signup_takes_names_of_every_script(client, name):
    assert signup(client, "erin", name).status_code == 302
    assert User.objects.get(username="erin").display_name == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_profile_refuses_a_name_that_breaks_things(client, cast, name):
    client.force_login(cast.bob)
    response = client.post("/accounts/profile/", {"display_name": name})
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    cast.bob.refresh_from_db()
    assert cast.bob.display_name == "Bob"


def test_the_admin_refuses_a_name_that_breaks_things(admin_client, cast):
    user = cast.bob
    response = admin_client.post(
        f"/admin/meetings/user/{user.pk}/change/",
        {
            "username": "bob",
            "display_name": "Bob\n00:00:00,000 --> 00:00:01,000",
            "is_active": "on",
            "date_joined_0": "2025-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 200
    assert "line break" in response.content.decode()
    user.refresh_from_db()
    assert user.display_name == "Bob"


def test_meeting_titles_are_one_clean_line(client, cast):
    client.force_login(cast.bob)
    for title in ("Sync\nWEBVTT", "Sync\u2028Evil", "Sync\x00", "Sync\x1b"):
        response = client.post("/meetings/new/", {"title": title, "language": "en"})
        assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert not Meeting.objects.filter(owner=cast.bob).exists()


def test_a_speaker_cannot_be_renamed_to_a_broken_name(client, cast):
    segment = cast.factory.make_segment(cast.meeting, cast.bob)
    client.force_login(cast.alice)
    response = client.post(
        "/m/weekly-sync/speakers/rename/", {"old_name": "Bob", "new_name": "Bob\n\nX"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "line break" in page and "Bob\n\nX" in page  # the error, and what was typed
    segment.refresh_from_db()
    assert segment.speaker_name == "Bob"


def test_a_correction_keeps_one_line_and_refuses_control_characters(client, cast):
    segment = cast.factory.make_segment(cast.meeting, cast.bob, text="Helo world.")
    url = f"/m/weekly-sync/segments/{segment.pk}/correct/"
    client.force_login(cast.alice)
    client.post(url, {"text": "Hello\r\nworld,\u2028again."})
    segment.refresh_from_db()
    assert segment.text == "Hello world, again."

    response = client.post(url, {"text": "Hello\x1b[2J world."})
    assert response.status_code == 400
    page = response.content.decode()
    # the error, and the text to save again without the invisible character
    assert "control character" in page and "Hello[2J world." in page and "\x1b" not in page
    segment.refresh_from_db()
    assert segment.text == "Hello world, again."


def test_exports_survive_names_and_text_stored_before_validation(client, cast):
    make = cast.factory.make_segment
    make(cast.meeting, cast.bob, text="First.")
    bad = make(cast.meeting, cast.bob, text="Two\n\n3\n00:00:09,000 --> 00:00:10,000\nInjected")
    bad.speaker_name = "Bob\x07\x0b\n2\n00:00:05,000 --> 00:00:06,000\u2028Mallory\ufffe"
    bad.save(update_fields=["speaker_name"])
    make(cast.meeting, cast.alice, text="Third.")
    client.force_login(cast.dave)

    body = client.get("/m/weekly-sync/transcript/export.docx")
    assert body.status_code == 200
    paragraphs = docx.Document(io.BytesIO(body.content)).paragraphs
    assert len(paragraphs) == 4  # the title and one per segment

    cues = list(srt.parse(client.get("/m/weekly-sync/transcript/export.srt").content.decode()))
    assert len(cues) == 3 and "Injected" in cues[1].content and "\n" not in cues[1].content
    vtt = webvtt.from_string(client.get("/m/weekly-sync/transcript/export.vtt").content.decode())
    assert len(vtt) == 3 and "Injected" in vtt[1].text
    txt = client.get("/m/weekly-sync/transcript/export.txt").content.decode()
    assert len(txt.splitlines()) == 3 + 3


def test_a_long_username_still_fits_every_caption(cast):
    user = cast.factory.make_user("u" * 150, display_name="")
    cast.meeting.add_member(user, "speaker")
    segment = actions.do_store_final(
        cast.meeting,
        user,
        item_id="long-1",
        text="Hello.",
        start_ms=0,
        end_ms=500,
        avg_logprob=None,
        confidence=None,
        language="en",
        engine="fake",
    )
    assert segment is not None and segment.speaker_name == "u" * 100
