"""A summary is asked for in the meeting's language: a Thai meeting's minutes in Thai."""

from __future__ import annotations

import json

from chat.client import ChatEndpoint
from summaries.summarise import COMBINE, WHOLE, summarise
from tests.chat_server import API_KEY, MODEL, chat_server

LINES = [
    "[0:00] สมชาย: ประชุมวันนี้เราจะคุยเรื่องงบประมาณของปีหน้า",
    "[0:05] Dave: OK, the budget for the road map.",
]
MINUTES = {"summary": "คุยเรื่องงบประมาณ", "decisions": [], "action_items": []}


def ask(language: str, lines: list[str] = LINES, context_tokens: int = 8192) -> list[dict]:
    with chat_server(lambda body: json.dumps(MINUTES, ensure_ascii=False)) as server:
        endpoint = ChatEndpoint(server.base_url, MODEL, API_KEY, context_tokens=context_tokens)
        notes = summarise(endpoint, lines, lambda done, total: None, language=language)
    assert notes.summary == "คุยเรื่องงบประมาณ"  # Thai comes back intact
    return server.requests


def test_a_thai_meeting_is_summarised_in_thai():
    [request] = ask("th")
    system, user = (message["content"] for message in request["messages"])
    assert system.endswith("Write in Thai, the language of the meeting.")
    assert "language of the transcript" not in system
    assert user.splitlines() == LINES  # the transcript goes as it was said


def test_every_part_of_a_long_meeting_and_their_combining_name_the_language():
    requests = ask("fr", LINES * 100, context_tokens=1024)
    systems = [request["messages"][0]["content"] for request in requests]
    assert len(systems) > 2  # parts, then their combining
    assert systems[-1].startswith(COMBINE.split(".")[0])
    assert all(s.endswith("Write in French, the language of the meeting.") for s in systems)


def test_english_and_detected_languages_keep_the_transcripts_language():
    for language in ("en", "auto", ""):
        [request] = ask(language)
        assert request["messages"][0]["content"] == WHOLE
    assert COMBINE.endswith("Write in the language of the transcript.")
