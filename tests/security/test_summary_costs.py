"""Nobody runs up the operator's chat costs through summaries.

Before the fix a host could ask for a summary again and again (each one has the whole
transcript read by the model), and nothing capped what a meeting or a day spent on them.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import escape

from meetings.models import Membership
from summaries.models import Summary
from tests.chat_server import chat_server
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, summarise_now, use

pytestmark = pytest.mark.django_db

ASK = "/m/weekly-sync/summary/request/"
PAGE = "/m/weekly-sync/transcript/"
BUDGET_SPENT = (
    "This meeting has used its budget for translations and summaries (1 tokens), which the "
    "server's operator sets."
)


def ask(user) -> str:
    """A host presses "Summarise": what the page they land on says."""
    client = Client()
    client.force_login(user)
    response = client.post(ASK, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_asking_is_rate_limited_per_user_and_per_meeting(cast, settings):
    settings.SUMMARY_RATE_LIMIT = "2/h"
    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://127.0.0.1:9/v1", "stand-in-chat"
    say(cast, SHORT_MEETING)
    eve = cast.factory.make_user("eve")
    cast.meeting.add_member(eve, Membership.Role.HOST)

    for _ in range(2):
        assert "is being written" in ask(cast.alice)
    refused = ask(cast.alice)
    assert "Summaries can be asked for 2 per hour: try again later." in refused
    runs = Summary.objects.get(meeting=cast.meeting).run
    # the meeting has had its two: another host is refused as well, and nothing is queued
    assert "Summaries can be asked for 2 per hour" in ask(eve)
    assert Summary.objects.get(meeting=cast.meeting).run == runs


def test_the_budget_stops_summaries_and_says_so(cast, settings):
    settings.LLM_TOKENS_PER_MEETING = 1  # the first summary spends it
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        assert summarise_now(cast).status == "done"

        # a job queued all the same (the meeting ended) asks nothing, and says why
        again = summarise_now(cast)
        assert (again.status, again.error) == ("failed", BUDGET_SPENT)
        page = Client()
        page.force_login(cast.alice)
        assert escape(BUDGET_SPENT) in page.get(PAGE).content.decode()

        # a host asking again is told at once, and no job is queued
        runs = again.run
        assert escape(BUDGET_SPENT) in ask(cast.alice)
        assert Summary.objects.get(meeting=cast.meeting).run == runs
    assert len(server.requests) == 1
