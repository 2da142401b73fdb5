"""A whole-transcript translation that fails in the worker says why on the next export.

Before the fix the worker's translation stopped at the chat endpoint's first failure, or at any
other error, and only the log or django-tasks' result knew: the next export said again that
the transcript "is being translated" and queued it again. Now the reason is kept for the
meeting and language, and the next export answers with it (no endpoint or database host),
once: the export after that asks again.
"""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from meetings.models import Segment
from tests.chat_server import chat_server
from tests.test_translation_exports import run_queued_job, use_chat
from tests.test_translation_glossary import reply
from translations.models import Translation

EXPORT = "/m/weekly-sync/transcript/export.json?translation=fr"
SAID = [f"The budget of item {n}." for n in range(30)]


@pytest.fixture
def transcript(live_cast) -> list[Segment]:
    make = live_cast.factory.make_segment
    return [
        make(live_cast.meeting, live_cast.bob, text=text, start_ms=n * 2000)
        for n, text in enumerate(SAID)
    ]


@pytest.fixture
def dave(live_cast) -> Client:
    client = Client()
    client.force_login(live_cast.dave)
    return client


def test_the_chat_endpoints_failure_is_told_on_the_next_export(
    live_cast, settings, transcript, dave
):
    with chat_server(reply, failing=True) as server:
        use_chat(settings, server)
        assert dave.get(EXPORT).status_code == 202  # queued
        assert run_queued_job() == "failed"

        told = dave.get(EXPORT)
        assert told.status_code == 503
        message = told.content.decode()
        assert message == (
            "Translating the transcript into French stopped: The language model answered with "
            f"an error (HTTP 500). 0 of {len(SAID)} segments are done; export again to ask "
            "for it again."
        )
        assert "127.0.0.1" not in message and server.base_url not in message
        assert DBTaskResult.objects.count() == 1  # told, not queued again behind the person

        server.failing = False
        again = dave.get(EXPORT)
        assert again.status_code == 202
        assert "The transcript is being translated into French" in again.content.decode()
        assert DBTaskResult.objects.count() == 2


def test_an_unexpected_error_is_told_without_its_details(
    live_cast, settings, transcript, dave, caplog
):
    def reply_as_the_meeting_loses_a_segment(body):
        # the host deletes a segment while the worker translates it: storing it then fails
        try:
            Segment.objects.filter(text=body["messages"][-1]["content"]).delete()
        finally:
            connection.close()  # this request's thread's own connection
        return reply(body)

    with chat_server(reply_as_the_meeting_loses_a_segment) as server:
        use_chat(settings, server)
        assert dave.get(EXPORT).status_code == 202
        # still the task's failure, and logged, for the operator
        with caplog.at_level(logging.ERROR, logger="meetings.jobs"):
            assert run_queued_job() == "failed"
        [logged] = [r for r in caplog.records if r.exc_info]
        assert isinstance(logged.exc_info[1], IntegrityError)

        told = dave.get(EXPORT)
        assert told.status_code == 503
        message = told.content.decode()
        assert message.startswith(
            "Translating the transcript into French stopped: an error on the server stopped it "
            "(it is logged for the operator). 0 of "
        )
        for internal in ("127.0.0.1", "5432", "IntegrityError", "meetings_segment", "DETAIL"):
            assert internal not in message
        assert Translation.objects.count() == 0
