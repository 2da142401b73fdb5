"""The job runner every kind of job shares (meetings.jobs): the claim, fencing, recovery and
attempts, in this process. A worker really killed mid-job: tests/test_job_recovery.py and
tests/live/test_batch.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from meetings import jobs
from summaries.jobs import request_summary
from summaries.models import Summary
from tests.chat_server import chat_server
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, use
from transcription.batch.jobs import run_transcription_job, start_job
from transcription.models import TranscriptionJob
from translations.jobs import NotStarted, start_transcript_translation
from translations.models import TranscriptTranslation


def queued_args() -> list[list[int]]:
    return [task.args_kwargs["args"] for task in DBTaskResult.objects.order_by("enqueued_at")]


def lose_its_worker(job: jobs.Job) -> None:
    """What a worker killed mid-job leaves: the job running, its heartbeat stopped."""
    old = timezone.now() - jobs.stale_after() - timedelta(seconds=1)
    type(job).objects.filter(pk=job.pk).update(heartbeat_at=old)


def test_the_runner_knows_every_kind_of_job():
    assert set(jobs.job_models()) == {TranscriptionJob, Summary, TranscriptTranslation}


def test_a_task_queued_twice_runs_the_job_once(cast, settings, django_capture_on_commit_callbacks):
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        with django_capture_on_commit_callbacks(execute=True):
            summary = request_summary(cast.meeting, cast.alice)
        [args] = queued_args()
        assert args == [summary.pk, summary.run]
        task = DBTaskResult.objects.get().task
        assert task.call(*args) == "done"
        assert task.call(*args) == "skipped"  # done already: the same run is not run again
    assert len(server.requests) == 1


def test_a_job_whose_worker_died_is_queued_again_under_a_new_run(
    cast, settings, django_capture_on_commit_callbacks
):
    job = start_job(engine="local", upload=None, meeting=cast.meeting)
    dead = jobs.claim(TranscriptionJob, job.pk, job.run)
    assert (dead.status, dead.attempts, dead.run) == ("running", 1, 1)
    jobs.report(dead, progress=40.0)
    assert jobs.recover_lost_jobs() == []  # its heartbeat is fresh: its worker lives

    lose_its_worker(dead)
    job.refresh_from_db()
    assert job.lost
    with django_capture_on_commit_callbacks(execute=True):
        [recovered] = jobs.recover_lost_jobs()
    job.refresh_from_db()
    assert recovered.pk == job.pk
    assert (job.status, job.run, job.attempts, job.progress) == ("queued", 2, 1, 0)
    assert queued_args()[-1] == [job.pk, 2]

    # The old run, were its worker only slow, may write nothing more, nor claim it again.
    with pytest.raises(jobs.JobLost):
        jobs.report(dead, progress=50.0)
    with pytest.raises(jobs.JobLost):
        jobs.finish(dead, progress=100)
    assert run_transcription_job.call(job.pk, 1) == "skipped"
    job.refresh_from_db()
    assert (job.status, job.progress) == ("queued", 0)


def test_a_job_whose_worker_died_too_often_fails_saying_so(cast):
    job = start_job(engine="local", upload=None, meeting=cast.meeting)
    for attempt in range(1, TranscriptionJob.max_attempts + 1):
        job.refresh_from_db()
        assert jobs.claim(TranscriptionJob, job.pk, job.run).attempts == attempt
        lose_its_worker(job)
        jobs.recover_lost_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert job.error == (
        "The worker stopped 3 times while running this job (killed, restarted or out of "
        "memory); it was not tried again."
    )


def test_asking_again_starts_a_new_request_with_its_own_attempts(cast, settings):
    say(cast, SHORT_MEETING)
    with chat_server(minutes_model) as server:
        use(settings, server)
        summary = request_summary(cast.meeting, cast.alice)
        jobs.claim(Summary, summary.pk, summary.run)
        lose_its_worker(summary)
        summary.refresh_from_db()
        assert summary.lost  # a host sees "Summarise again"
        again = request_summary(cast.meeting, cast.alice)
    assert (again.status, again.run, again.attempts) == ("queued", summary.run + 1, 0)


def test_a_transcript_translation_is_queued_once_while_under_way(live_cast):
    segment = live_cast.factory.make_segment(live_cast.meeting, live_cast.bob)
    asked: list[int] = []

    def start() -> TranscriptTranslation:
        # the refusal allows it (None), and counts how often it was asked
        return start_transcript_translation(
            live_cast.meeting.pk, [segment.pk], "fr", lambda: asked.append(1)
        )

    job = start()
    assert (job.status, job.run) == ("queued", 1)
    assert start().run == 1  # found under way: nothing queued
    jobs.claim(TranscriptTranslation, job.pk, job.run)
    assert start().run == 1
    lose_its_worker(job)
    # one whose worker died is asked for again rather than waited for
    assert start().run == 2
    job.refresh_from_db()
    assert (job.status, job.run) == ("queued", 2)
    assert len(queued_args()) == 2
    assert len(asked) == 2  # whether it may was asked of the two starts, not of the finds


def test_a_refused_start_queues_nothing_and_keeps_no_row(live_cast):
    segment = live_cast.factory.make_segment(live_cast.meeting, live_cast.bob)
    with pytest.raises(NotStarted, match="try later"):
        start_transcript_translation(live_cast.meeting.pk, [segment.pk], "fr", lambda: "try later")
    assert not TranscriptTranslation.objects.exists()
    assert queued_args() == []
