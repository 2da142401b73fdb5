"""/metrics shows what the paid services cost today, their budgets, and the calls refused."""

from __future__ import annotations

import pytest

from meetings.budget import CHAT_TOKENS, PAID_SECONDS, BudgetSpent, ChatMeter
from tests.test_metrics_access import samples

pytestmark = pytest.mark.django_db


def test_it_shows_spending_budgets_and_refusals(client, cast, settings):
    settings.LLM_TOKENS_PER_MEETING, settings.LLM_TOKENS_PER_DAY = 500, 0
    settings.PAID_ENGINE_MINUTES_PER_MEETING, settings.PAID_ENGINE_MINUTES_PER_DAY = 30, 600
    before = samples(client.get("/metrics"))
    refused = ("captions_budget_refusals_total", (("budget", "chat_tokens"), ("scope", "meeting")))

    meter = ChatMeter(cast.meeting.pk)
    meter.check()  # nothing spent yet
    meter.add(499)
    meter.add(30)  # an answer counted after the call, past the budget
    with pytest.raises(BudgetSpent):
        meter.check()
    PAID_SECONDS.add(cast.meeting.pk, 90)
    after = samples(client.get("/metrics"))

    def grew(name):
        return after[(name, ())] - before.get((name, ()), 0)

    assert grew("captions_chat_tokens_today") == 529
    assert grew("captions_paid_engine_seconds_today") == 90
    assert after[("captions_chat_tokens_today", ())] == CHAT_TOKENS.spent_today()
    assert after[("captions_chat_tokens_meeting_budget", ())] == 500
    assert after[("captions_chat_tokens_day_budget", ())] == 0
    assert after[("captions_paid_engine_seconds_meeting_budget", ())] == 30 * 60
    assert after[("captions_paid_engine_seconds_day_budget", ())] == 600 * 60
    assert after[refused] - before.get(refused, 0) == 1
