"""A Thai browser gets the pages in Thai, dates included; an English one gets them unchanged."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from django.test import Client

from meetings.models import Meeting

THAI = {"HTTP_ACCEPT_LANGUAGE": "th-TH,th;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def page(client: Client, path: str, browser: dict) -> str:
    response = client.get(path, **browser)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def page_json(html: str, element_id: str) -> dict:
    """What json_script rendered into the page under `element_id`."""
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, f"the page has no #{element_id}"
    return json.loads(found.group(1))


def test_the_login_page(client, db):
    thai = page(client, "/accounts/login/", THAI)
    assert "<title>เข้าสู่ระบบ · คำบรรยาย</title>" in thai
    assert '<button type="submit">เข้าสู่ระบบ</button>' in thai
    assert "ยังไม่มีบัญชีใช่ไหม" in thai
    assert "ชื่อผู้ใช้" in thai and "รหัสผ่าน" in thai  # Django's own form, in Thai too
    assert "No account yet?" not in thai

    english = page(Client(), "/accounts/login/", ENGLISH)
    assert "<title>Log in · Captions</title>" in english
    assert '<button type="submit">Log in</button>' in english
    assert "No account yet?" in english and "Username" in english
    assert "ยังไม่มีบัญชี" not in english


def test_the_meetings_list_with_its_dates(client, cast):
    Meeting.objects.filter(pk=cast.meeting.pk).update(
        started_at=datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    )
    client.force_login(cast.alice)
    thai = page(client, "/", THAI)
    assert "<h1>การประชุมของฉัน</h1>" in thai
    assert "กำลังประชุมอยู่" in thai and "โฮสต์โดย Alice" in thai
    assert "7 ธ.ค. 2026, 09:30" in thai  # the month in Thai, through Django's formats
    assert "My meetings" not in thai and "Dec" not in thai

    english = page(client, "/", ENGLISH)
    assert "<h1>My meetings</h1>" in english
    assert "hosted by Alice · started" in english and "7 Dec 2026, 09:30" in english


def test_the_room_and_its_scripts_strings(client, cast):
    client.force_login(cast.alice)
    thai = page(client, "/m/weekly-sync/", THAI)
    assert '<html lang="th">' in thai
    for words in ("เปิดไมโครโฟน", "ผู้เข้าร่วม", "จบการประชุม", "บุ๊กมาร์กช่วงเวลานี้", "สี"):
        assert words in thai, words
    assert "Start microphone" not in thai and "Participants" not in thai
    # the roles, the close codes' messages and the caption settings: from Python, in Thai too
    assert "Alice (โฮสต์)" in thai
    assert page_json(thai, "close-codes")["messages"]["4401"].startswith("คุณออกจากระบบแล้ว")
    catalog = page_json(thai, "js-catalog")["catalog"]
    assert catalog["Connected"] == "เชื่อมต่อแล้ว"
    assert catalog["Not connected. Trying again in %(seconds)s s…"].startswith("ไม่ได้เชื่อมต่อ")

    english = page(client, "/m/weekly-sync/", ENGLISH)
    assert '<html lang="en">' in english
    assert "Start microphone" in english and "Alice (host)" in english
    english_closes = page_json(english, "close-codes")["messages"]
    assert english_closes["4401"] == "You are logged out. Log in again to rejoin the meeting."
    assert page_json(english, "js-catalog")["catalog"] == {}  # the scripts keep their English


def test_the_meeting_form_names_languages_in_thai(client, cast):
    client.force_login(cast.alice)
    thai = page(client, "/meetings/new/", THAI)
    assert "ชื่อการประชุม" in thai and "อังกฤษ (en)" in thai
    english = page(client, "/meetings/new/", ENGLISH)
    assert "English (en)" in english and "Title" in english


def test_a_refused_form_says_why_in_thai(client, cast):
    client.force_login(cast.alice)
    response = client.post(
        "/meetings/new/", {"title": "a\nb", "language": "en", "glossary": ""}, **THAI
    )
    assert "ใช้บรรทัดเดียว ห้ามขึ้นบรรทัดใหม่" in response.content.decode()


def test_messages_after_an_action_are_in_thai(client, cast):
    client.force_login(cast.alice)
    response = client.post(
        f"/m/weekly-sync/participants/{cast.bob.pk}/remove/", follow=True, **THAI
    )
    assert "Bob ไม่ได้เป็นผู้เข้าร่วมแล้ว" in response.content.decode()
