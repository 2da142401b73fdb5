"""Uploads are rate limited per user, and so are the jobs waiting or running for one user.

Before the fix a user could post uploads as fast as the server took them, and queue any number
of hours-long jobs in front of everyone else's. The counts live in the cache (Redis), so they
hold across every process; limits are made small here with settings, never by clearing the cache.
"""

from __future__ import annotations

import numpy as np
from django.core.files.base import ContentFile
from django.test import override_settings

from meetings.models import ApiToken
from transcription.engines.openai.batch import wav_bytes
from transcription.models import AudioUpload, TranscriptionJob

SECOND_OF_SILENCE = wav_bytes(np.zeros(16000, np.float32))


def upload(client, token: str):
    return client.post(
        "/api/audio/transcribe",
        {"file": ContentFile(SECOND_OF_SILENCE, name="a.wav"), "engine": "local"},
        headers={"Authorization": f"Bearer {token}"},
    )


# Every upload becomes a queued job, so that no engine runs.
@override_settings(
    UPLOAD_RATE_LIMIT="2/h", MAX_QUEUED_JOBS_PER_USER=50, TRANSCRIBE_SYNC_MAX_SECONDS=0
)
def test_it_limits_the_uploads_of_each_user(client, cast):
    bob = ApiToken.issue(cast.bob)[1]
    assert [upload(client, bob).status_code for _ in range(2)] == [202, 202]
    refused = upload(client, bob)
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "rate_limited",
        "message": "Too many uploads: at most 2 per hour. Try again later.",
    }
    assert upload(client, ApiToken.issue(cast.bob)[1]).status_code == 429  # a new token too
    client.force_login(cast.bob)
    in_browser = client.post(
        "/api/audio/transcribe", {"file": ContentFile(SECOND_OF_SILENCE, name="a.wav")}
    )
    assert in_browser.status_code == 429  # and the browser session
    assert upload(client, ApiToken.issue(cast.charlie)[1]).status_code == 202  # others are not
    assert AudioUpload.objects.filter(owner=cast.bob).count() == 2


@override_settings(
    UPLOAD_RATE_LIMIT="100/h", MAX_QUEUED_JOBS_PER_USER=2, TRANSCRIBE_SYNC_MAX_SECONDS=0
)
def test_it_limits_the_jobs_waiting_or_running_for_each_user(client, cast):
    bob = ApiToken.issue(cast.bob)[1]
    assert [upload(client, bob).status_code for _ in range(2)] == [202, 202]
    refused = upload(client, bob)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_jobs"
    assert refused.json()["error"]["message"] == (
        "You already have 2 transcriptions waiting or running: "
        "send this file again when one of them has finished."
    )
    assert AudioUpload.objects.filter(owner=cast.bob).count() == 2  # the refused one is not kept
    assert upload(client, ApiToken.issue(cast.charlie)[1]).status_code == 202

    TranscriptionJob.objects.filter(created_by=cast.bob).update(status="running")
    assert upload(client, bob).status_code == 429  # running counts as much as waiting
    first = TranscriptionJob.objects.filter(created_by=cast.bob).earliest("pk")
    first.status = TranscriptionJob.Status.DONE
    first.save(update_fields=["status"])
    assert upload(client, bob).status_code == 202
