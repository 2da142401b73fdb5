"""The summary job against a stand-in chat endpoint on a real socket: one request for a short
meeting, parts and their combining for a long one, clear failures."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from chat.client import ChatEndpoint, estimated_tokens
from meetings.language_model import HOW_TO_ENABLE
from summaries.jobs import request_summary, run_summary_job
from summaries.models import Summary
from summaries.summarise import COMBINE, PART, WHOLE, answer_tokens, text_budget
from tests.base import Cast
from tests.chat_server import API_KEY, MODEL, ChatServer, chat_server
from tests.summary_model import minutes_model

SHORT_MEETING = [
    ("alice", "Welcome everyone. Today we look at the launch plan for the new captions app."),
    ("bob", "The beta has forty users. Most of them ask for exports in Word."),
    ("alice", "Then we decided to ship the Word export before the launch."),
    ("bob", "I will write the release notes by Friday."),
    ("alice", "Dave, will you check the accessibility report?"),
    ("dave", "Yes. We agreed that the launch moves to the fourteenth."),
]


def say(cast: Cast, lines: list[tuple[str, str]]) -> None:
    for who, text in lines:
        cast.factory.make_segment(cast.meeting, getattr(cast, who), text=text)


def use(settings, server: ChatServer, context_tokens: int | None = None) -> None:
    settings.LLM_BASE_URL = server.base_url
    settings.LLM_MODEL = MODEL
    settings.LLM_API_KEY = API_KEY
    settings.LLM_CONTEXT_TOKENS = context_tokens or server.context_tokens


def summarise_now(cast: Cast) -> Summary:
    """Ask as the host does, then run the job the worker would run, in this process."""
    summary = request_summary(cast.meeting, cast.alice)
    assert run_summary_job.call(summary.pk, summary.run) in {"done", "failed"}
    summary.refresh_from_db()
    return summary


def test_it_summarises_a_meeting_in_one_request(cast, settings):
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        summary = summarise_now(cast)

    assert summary.status == "done", summary.error
    assert summary.text.startswith("Alice said: Welcome everyone. Bob said: The beta")
    assert summary.decisions == [
        "ship the Word export before the launch",
        "the launch moves to the fourteenth",
    ]
    assert summary.action_items == [
        {"owner": "Bob", "task": "write the release notes by Friday"},
        {"owner": "Dave", "task": "check the accessibility report"},
    ]
    assert (summary.parts_done, summary.parts_total) == (1, 1)
    assert summary.model_name == MODEL and summary.version is None

    [request] = server.requests
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][0]["content"] == WHOLE
    sent = request["messages"][1]["content"].splitlines()
    assert sent[0] == "[0:00] Alice: " + SHORT_MEETING[0][1]
    assert sent[3] == "[0:06] Bob: I will write the release notes by Friday."


def long_meeting(cast: Cast, rounds: int) -> list[int]:
    """Rounds of talk; every eighth has a decision and an action item, so none can go missing
    (and the minutes of the whole stay short enough for one answer, as a model's must)."""
    marked = []
    for n in range(rounds):
        lines = [
            ("alice", f"Item {n} on the agenda is the budget line number {n} for the team."),
            ("bob", f"Line {n} covers travel, hardware and the licences for quarter {n % 4}."),
            ("alice", "Thanks, that is clear, let us keep going with the next item now."),
        ]
        if n % 8 == 0:
            marked.append(n)
            lines += [
                ("bob", f"We decided to fund line {n} at {n + 10} percent of the request."),
                ("dave", f"I will draft the memo for line {n} this week."),
            ]
        say(cast, lines)
    return marked


def test_a_thai_meetings_summary_is_asked_for_in_thai(cast, settings):
    cast.meeting.language = "th"
    cast.meeting.save(update_fields=["language"])
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        summary = summarise_now(cast)

    assert summary.status == "done", summary.error
    [request] = server.requests
    assert request["messages"][0]["content"].endswith("Write in Thai, the language of the meeting.")


def test_a_long_meeting_is_summarised_in_parts_within_the_context(cast, settings):
    marked = long_meeting(cast, rounds=40)
    with chat_server(minutes_model, context_tokens=1200) as server:
        use(settings, server)
        summary = summarise_now(cast)

    assert summary.status == "done", summary.error
    parts = [r for r in server.requests if r["messages"][0]["content"] == PART]
    combines = [r for r in server.requests if r["messages"][0]["content"] == COMBINE]
    assert len(parts) >= 3 and len(combines) >= 1
    for request in server.requests:  # none refused: each fits with room for its answer
        assert server.prompt_tokens(request) + request["max_tokens"] <= 1200
    # every line of the transcript went to the model exactly once
    sent = [row for r in parts for row in r["messages"][1]["content"].splitlines()]
    assert len(sent) == 40 * 3 + len(marked) * 2
    assert summary.decisions == [
        f"fund line {n} at {n + 10} percent of the request" for n in marked
    ]
    assert summary.action_items == [
        {"owner": "Dave", "task": f"draft the memo for line {n} this week"} for n in marked
    ]
    assert summary.parts_done == summary.parts_total == len(server.requests)


def test_a_part_the_endpoint_finds_too_long_is_split_and_asked_again(cast, settings):
    marked = long_meeting(cast, rounds=24)
    # The operator says 2000 tokens; the model's server holds 1300: the job learns it.
    with chat_server(minutes_model, context_tokens=1300) as server:
        use(settings, server, context_tokens=2000)
        summary = summarise_now(cast)

    assert summary.status == "done", summary.error
    refused = [r for r in server.requests if server.prompt_tokens(r) + r["max_tokens"] > 1300]
    assert refused, "the first part should have been refused"
    assert summary.action_items == [
        {"owner": "Dave", "task": f"draft the memo for line {n} this week"} for n in marked
    ]
    assert summary.parts_done == summary.parts_total


def test_failures_are_stored_and_shown_as_clear_messages(cast, settings):
    say(cast, SHORT_MEETING)
    client = Client()
    client.force_login(cast.alice)
    with chat_server(minutes_model) as server:
        use(settings, server)
        server.failing = True
        summary = summarise_now(cast)
        assert summary.status == "failed"
        # the endpoint's host and model are the operator's (logged), not the host's to see
        assert summary.error == "The language model answered with an error (HTTP 500)."
        page = client.get("/m/weekly-sync/transcript/").content.decode()
        assert "The summary could not be written: The language model answered" in page
        assert "Traceback" not in page
        assert "Summarise again" in page

    with chat_server(lambda body: "Sure! The meeting went well.") as server:
        use(settings, server)
        summary = summarise_now(cast)
        assert summary.status == "failed"
        assert summary.error.endswith("gave an answer that is not JSON, so no summary was written.")

    with chat_server(lambda body: json.dumps({"minutes": "none"})) as server:
        use(settings, server)
        assert "has no summary text" in summarise_now(cast).error

    with chat_server(minutes_model) as server:
        use(settings, server)
        settings.LLM_API_KEY = "sk-wrong"
        assert summarise_now(cast).error == "The language model refused the server's API key."


def test_without_an_endpoint_the_page_says_how_to_enable_it(cast, settings):
    settings.LLM_BASE_URL = settings.LLM_MODEL = ""
    say(cast, SHORT_MEETING)
    client = Client()
    client.force_login(cast.alice)
    page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert "Summaries are not set up on this server." in page
    assert HOW_TO_ENABLE in page
    assert "docs/OPERATIONS.md, “Summaries and translation”" in page
    assert ">Summarise</button>" not in page

    response = client.post("/m/weekly-sync/summary/request/", follow=True)
    assert "Summaries are not set up." in response.content.decode()
    assert not Summary.objects.exists()


def test_the_page_shows_the_summary_with_owners(cast, settings):
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        summarise_now(cast)
        client = Client()
        client.force_login(cast.dave)  # a listener reads it
        page = client.get("/m/weekly-sync/transcript/").content.decode()
    assert '<span class="owner">Bob</span>: write the release notes by Friday' in page
    assert "<li>ship the Word export before the launch</li>" in page
    assert "Edit the summary" not in page and "Summarise again" not in page


def test_the_prompt_budget_leaves_room_for_the_answer():
    endpoint = ChatEndpoint("http://x/v1", MODEL, context_tokens=8192)
    assert answer_tokens(endpoint) == 1024
    budget = text_budget(endpoint, PART)
    assert budget + answer_tokens(endpoint) + estimated_tokens(PART) < 8192


@pytest.mark.parametrize("status", ["queued", "running"])
def test_asking_again_while_it_runs_queues_nothing_new(cast, settings, status):
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        first = request_summary(cast.meeting, cast.alice)
        Summary.objects.filter(pk=first.pk).update(status=status)
        again = request_summary(cast.meeting, cast.bob)
        assert again.run == first.run and again.requested_by_id == cast.alice.pk
        # a replaced run does nothing: its job finds another run number
        Summary.objects.filter(pk=first.pk).update(status="done")
        newer = request_summary(cast.meeting, cast.alice)
        assert newer.run == first.run + 1
        assert run_summary_job.call(first.pk, first.run) == "skipped"
        assert server.requests == []
