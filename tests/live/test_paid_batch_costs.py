"""Batch jobs on the paid engine spend the same budget of minutes as live captions.

Before the fix an upload, a meeting's re-transcription or a queued job on the OpenAI engine
ran whatever the meeting or the day had spent. Now a request whose audio would go over is
refused up front (the API's 429 `budget_spent`, the admin's message), a job stops with its
reason once a budget is spent, and what they spend is counted in Redis and shown in /metrics.
The OpenAI engine talks to the project's speech server (tests/speech_server.py).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files import File

from meetings.budget import PAID_SECONDS
from meetings.models import ApiToken, Recording
from tests.speech import clip
from tests.test_metrics_access import samples
from transcription.audio import decode_file
from transcription.batch.jobs import run_transcription_job
from transcription.models import AudioUpload, TranscriptionJob

NAME = "A_LS_1272-128104-0000"  # 5.9 s of speech
SPENT = ("captions_paid_engine_seconds_today", ())


@pytest.fixture
def bob_token(live_cast) -> str:
    paid = Permission.objects.get(codename="use_paid_engines")
    live_cast.bob.user_permissions.add(paid)
    return ApiToken.issue(live_cast.bob)[1]


def upload(client, token):
    with open(clip(NAME).path, "rb") as f:
        return client.post(
            "/api/audio/transcribe",
            {"file": f, "engine": "openai"},
            headers={"Authorization": f"Bearer {token}"},
        )


def record(cast, *names: str) -> None:
    """Bob's recordings of the clips in the meeting."""
    for name in names:
        with open(clip(name).path, "rb") as f:
            recording = Recording(
                meeting=cast.meeting, speaker=cast.bob, speaker_name="Bob", duration_ms=0
            )
            recording.file.save(f"{name}.wav", File(f), save=False)
        recording.duration_ms = int(decode_file(clip(name).path).size / 16)
        recording.save()


def test_an_upload_that_would_pass_the_days_budget_is_refused_up_front(openai, client, bob_token):
    before = PAID_SECONDS.spent_today()
    openai.PAID_ENGINE_MINUTES_PER_DAY = (before + 3) / 60  # 3 s left today

    refused = upload(client, bob_token)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "budget_spent"
    assert error["message"].startswith("The server has 0.05 minutes left of today's budget for ")
    assert "this audio is 0.1 minutes long" in error["message"]
    assert AudioUpload.objects.count() == 0
    assert PAID_SECONDS.spent_today() == before

    # with room for it, it is transcribed, and its seconds are counted and shown
    openai.PAID_ENGINE_MINUTES_PER_DAY = (before + 60) / 60
    metrics_before = samples(client.get("/metrics"))
    done = upload(client, bob_token)
    assert done.status_code == 200, done.content
    assert "apostle of the middle classes" in done.json()["text"].lower()
    assert PAID_SECONDS.spent_today() == before + 6
    grew = samples(client.get("/metrics"))[SPENT] - metrics_before.get(SPENT, 0)
    assert grew == 6


def test_a_meetings_retranscription_past_its_budget_is_not_started(openai, admin_client, live_cast):
    openai.PAID_ENGINE_MINUTES_PER_MEETING = 0.05  # 3 s, and the recording is 5.9 s
    record(live_cast, NAME)
    response = admin_client.post(
        "/admin/meetings/meeting/",
        {"action": "retranscribe_with_openai", "_selected_action": [live_cast.meeting.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "No job started for" in page
    assert "This meeting has 0.05 minutes left of its budget for" in page
    assert TranscriptionJob.objects.count() == 0

    # nor is a failed job run again past it
    failed = TranscriptionJob.objects.create(
        meeting=live_cast.meeting, engine="openai", status="failed", error="The worker stopped."
    )
    response = admin_client.post(
        "/admin/transcription/transcriptionjob/",
        {"action": "run_again", "_selected_action": [failed.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert f"Job {failed.pk} not queued again: This meeting has 0.05 minutes left" in page
    assert "jobs queued again" not in page
    assert list(TranscriptionJob.objects.all()) == [failed]


def test_a_job_stops_with_its_reason_once_the_meetings_budget_is_spent(openai, live_cast):
    openai.PAID_ENGINE_MINUTES_PER_MEETING = 0.05
    record(live_cast, NAME, NAME)  # two recordings: the first spends the budget
    job = TranscriptionJob.objects.create(
        meeting=live_cast.meeting, engine="openai", created_by=live_cast.dave
    )
    live_cast.dave.is_superuser = True
    live_cast.dave.save(update_fields=["is_superuser"])

    assert run_transcription_job.call(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.version is None
    assert job.error.startswith(
        "This meeting has used its budget for captions by the paid speech engine (0.05 minutes)"
    )
    assert PAID_SECONDS.spent_by(live_cast.meeting.pk) == 6  # the first recording, not the second


def test_a_long_upload_is_refused_up_front_and_a_queued_one_stops_once_the_day_is_spent(
    openai, client, bob_token, live_cast
):
    openai.TRANSCRIBE_SYNC_MAX_SECONDS = 0  # every upload is a job for the worker
    before = PAID_SECONDS.spent_today()
    openai.PAID_ENGINE_MINUTES_PER_DAY = (before + 3) / 60
    refused = upload(client, bob_token)  # its header says 5.9 s
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_spent"
    assert TranscriptionJob.objects.count() == 0

    openai.PAID_ENGINE_MINUTES_PER_DAY = (before + 60) / 60
    queued = upload(client, bob_token)
    assert queued.status_code == 202
    PAID_SECONDS.add(live_cast.meeting.pk, 60)  # a room spends the rest while it waits
    job = TranscriptionJob.objects.get()
    assert run_transcription_job.call(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.result is None
    budget = f"{round((before + 60) / 60, 2):g} minutes"
    assert job.error == (
        f"The server has used today's budget for captions by the paid speech engine ({budget}); "
        "it starts again at midnight UTC. The transcription was stopped; what it had done is "
        "not kept."
    )
    status = client.get(
        f"/api/jobs/{job.pk}", headers={"Authorization": f"Bearer {bob_token}"}
    ).json()
    assert status["status"] == "failed" and status["error"] == job.error
    assert PAID_SECONDS.spent_today() == before + 60  # nothing more was sent
