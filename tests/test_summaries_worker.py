"""Ending a meeting queues its summary, and the real worker process writes it."""

from __future__ import annotations

import time

from django_tasks_db.models import DBTaskResult

from meetings.actions import do_end_meeting
from summaries.models import Summary
from tests.chat_server import chat_server, llm_settings
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, use


def wait_for_summary(statuses: set[str], timeout: float = 60) -> Summary:
    deadline = time.monotonic() + timeout
    while True:
        summary = Summary.objects.get()
        if summary.status in statuses:
            return summary
        assert time.monotonic() < deadline, f"summary stuck {summary.status}"
        time.sleep(0.2)


def test_ending_a_meeting_queues_the_summary_and_the_worker_writes_it(
    live_cast, settings, job_workers
):
    say(live_cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        assert do_end_meeting(live_cast.meeting, live_cast.alice)
        summary = Summary.objects.get()
        assert (summary.status, summary.requested_by) == ("queued", None)
        task = DBTaskResult.objects.get()
        assert task.args_kwargs["args"] == [summary.pk, summary.run]

        with job_workers(**llm_settings(server)):
            summary = wait_for_summary({"done", "failed"})
        assert summary.status == "done", summary.error
        assert {"owner": "Bob", "task": "write the release notes by Friday"} in (
            summary.action_items
        )
        assert len(server.requests) == 1

        # Reopened and ended again, a summary a host edited is theirs: it is not replaced.
        live_cast.meeting.reopen()
        Summary.objects.update(edited_by=live_cast.alice)
        assert do_end_meeting(live_cast.meeting, live_cast.alice)
        assert Summary.objects.get().run == summary.run
        assert DBTaskResult.objects.count() == 1


def test_ending_a_meeting_without_an_endpoint_queues_nothing(live_cast, settings):
    settings.LLM_BASE_URL = ""
    say(live_cast, SHORT_MEETING)
    assert do_end_meeting(live_cast.meeting, live_cast.alice)
    assert not Summary.objects.exists() and not DBTaskResult.objects.exists()


def test_ending_a_meeting_where_nothing_was_said_queues_nothing(live_cast, settings):
    with chat_server(minutes_model) as server:
        use(settings, server)
        assert do_end_meeting(live_cast.meeting, live_cast.alice)
    assert not Summary.objects.exists()


def test_the_summary_is_queued_once_the_end_commits(
    cast, settings, django_capture_on_commit_callbacks
):
    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://127.0.0.1:9/v1", "stand-in-chat"
    say(cast, SHORT_MEETING)
    with django_capture_on_commit_callbacks() as callbacks:
        assert do_end_meeting(cast.meeting, cast.alice)
    assert not Summary.objects.exists()  # the end is not committed yet
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    summary = Summary.objects.get()
    assert (summary.status, summary.requested_by) == ("queued", None)
    assert DBTaskResult.objects.get().args_kwargs["args"] == [summary.pk, summary.run]
