"""A Thai browser (locale th-TH) gets the room in Thai, its scripts' words too; the room and the
other pages a member sees pass axe-core, and the keyboard reaches the language switch and
changes the language with it."""

from __future__ import annotations

from playwright.sync_api import expect

from meetings.models import User

from .pages import CONSOLE, DESKTOP, ROOM, assert_accessible, off_the_event_loop, screenshot


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id") or ""


def test_the_room_in_thai_with_the_keyboard(live_cast, browser, web_server):
    context = browser.new_context(base_url=web_server, locale="th-TH", **DESKTOP)
    page = context.new_page()
    page.on("console", lambda message: CONSOLE.append(f"alice: {message.text}"))
    page.goto(f"/accounts/login/?next={ROOM}")
    page.get_by_label("ชื่อผู้ใช้").fill("alice")
    page.get_by_label("รหัสผ่าน").fill("pw-alice")
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url(f"**{ROOM}")

    # the server's words and the scripts' (static/js/i18n.js, from the page's catalogue)
    expect(page.locator("#connection-status")).to_have_text("เชื่อมต่อแล้ว", timeout=15_000)
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.get_by_role("button", name="เปิดไมโครโฟน")).to_be_visible()
    expect(page.get_by_role("heading", name="ผู้เข้าร่วม")).to_be_visible()
    screenshot(page, "room-in-thai")
    assert_accessible(page)

    # the other pages a member sees, in Thai and clean too (the room's features come back below)
    for path, heading in (
        ("/", "การประชุมของฉัน"),
        ("/meetings/new/", "การประชุมใหม่"),
        ("/m/weekly-sync/transcript/", "บันทึกถ้อยคำ: Weekly sync"),
        ("/search/?q=budget", "ค้นหาบันทึกถ้อยคำ"),
        ("/accounts/profile/", "โปรไฟล์ของคุณ"),
        ("/m/weekly-sync/caption-links/", "ลิงก์คำบรรยาย: Weekly sync"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page)
    page.goto(ROOM)
    expect(page.locator("#connection-status")).to_have_text("เชื่อมต่อแล้ว", timeout=15_000)

    # from the top of the page, Tab reaches the switch: labelled, then its button
    page.locator("body").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused_id(page) == "language-switch":
            break
    assert focused_id(page) == "language-switch", "Tab never reached the language switch"
    expect(page.get_by_label("ภาษาของหน้า")).to_be_focused()
    page.keyboard.press("Home")  # the first language, English, as the arrow keys choose
    expect(page.locator("#language-switch")).to_have_value("en")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="เปลี่ยน", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    # back in the room, in English, and the choice is saved on alice's account
    page.wait_for_url(f"**{ROOM}")
    expect(page.locator("#connection-status")).to_have_text("Connected", timeout=15_000)
    expect(page.get_by_role("button", name="Start microphone")).to_be_visible()
    assert off_the_event_loop(lambda: User.objects.get(username="alice").language) == "en"
    context.close()
