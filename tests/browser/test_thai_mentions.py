"""Thai mentions in real Chromium: a Thai watch word is marked inside a Thai sentence.

Thai has no spaces between words, so "as a whole word" never held inside a sentence: the room
now asks the browser's word segmenter (Intl.Segmenter, ICU's Thai dictionary in Chromium)
where words end. A watch word inside a longer word is still not a mention.
"""

from __future__ import annotations

from playwright.sync_api import expect

from meetings.models import User

from .pages import ROOM, logged_in_page, off_the_event_loop
from .test_mentions import say


def watch(username: str, words: list[str]) -> None:
    def store() -> None:
        User.objects.filter(username=username).update(watch_words=words)

    off_the_event_loop(store)


def test_thai_watch_words_are_marked_inside_thai_sentences(live_cast, browser, web_server):
    # Somchai (a name), budget, and "eye", which is also the start of "follow"
    watch("dave", ["สมชาย", "งบประมาณ", "ตา", "Dave"])
    dave = logged_in_page(browser, web_server, "dave", microphone=False)
    dave.goto(ROOM)
    expect(dave.locator("#connection-status")).to_have_text("Connected", timeout=15_000)

    thanks = say("bob", "ขอบคุณสมชายครับ")  # thank you, Somchai
    budget = say("alice", "ประชุมวันนี้เราจะคุยเรื่องงบประมาณของปีหน้า")  # next year's budget
    follow = say("bob", "ทำตามแผนที่คุยกันไว้")  # do as we planned: "ตา" inside "ตาม"
    mixed = say("alice", "ขอบคุณDaveครับ")  # a Latin name between Thai words
    for line in (thanks, budget, mixed):
        expect(dave.locator(line)).to_have_class("caption final mention")
    expect(dave.locator(f"{thanks} mark")).to_have_text("สมชาย")
    expect(dave.locator(f"{thanks} .text")).to_have_text("ขอบคุณสมชายครับ")
    expect(dave.locator(f"{budget} mark")).to_have_text("งบประมาณ")
    expect(dave.locator(f"{mixed} mark")).to_have_text("Dave")
    expect(dave.locator(follow)).to_have_class("caption final")
    expect(dave.locator(f"{follow} mark")).to_have_count(0)
    expect(dave.get_by_role("button", name="Latest mention (3)")).to_be_visible()
