"""Paid engines are used only by the users the operator allows.

Before the fix any user could send `engine=openai` and spend the operator's OpenAI key. Now it
takes the `transcription.use_paid_engines` permission (granted in the admin to users or groups;
superusers have it), in the API and in the admin actions that start jobs.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile

from meetings.models import ApiToken
from transcription.engines.openai.batch import wav_bytes
from transcription.models import AudioUpload, TranscriptionJob

SECOND_OF_SILENCE = wav_bytes(np.zeros(16000, np.float32))
REFUSAL = "The openai engine is paid for by the operator of this service"


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def upload(client, user, **fields):
    token = ApiToken.issue(user)[1] if user else None
    return client.post(
        "/api/audio/transcribe",
        {"file": ContentFile(SECOND_OF_SILENCE, name="a.wav"), **fields},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )


def test_it_lets_only_allowed_users_choose_a_paid_engine(client, cast, settings):
    settings.TRANSCRIBE_SYNC_MAX_SECONDS = 0  # every upload is a job: no request goes to OpenAI
    assert upload(client, None, engine="openai").status_code == 401

    refused = upload(client, cast.charlie, engine="openai")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "engine_not_allowed"
    assert refused.json()["error"]["message"].startswith(REFUSAL)
    assert AudioUpload.objects.count() == 0
    assert upload(client, cast.charlie, engine="local").status_code == 202
    settings.TRANSCRIBE_DEFAULT_ENGINE = "openai"
    assert upload(client, cast.charlie).status_code == 403  # the default is no way round it

    group = Group.objects.create(name="Paid transcription")
    group.permissions.add(Permission.objects.get(codename="use_paid_engines"))
    cast.bob.groups.add(group)
    assert upload(client, cast.bob, engine="openai").status_code == 202
    cast.dave.is_superuser = True
    cast.dave.save(update_fields=["is_superuser"])
    assert upload(client, cast.dave, engine="openai").status_code == 202
    assert list(TranscriptionJob.objects.values_list("engine", flat=True)) == [
        "openai",
        "openai",
        "local",
    ]


@pytest.fixture
def staff(cast):
    eve = cast.factory.make_user("eve", is_staff=True)
    grant(eve, "view_audioupload", "view_meeting", "view_transcriptionjob")
    return eve


def test_it_lets_only_allowed_staff_start_paid_jobs_in_the_admin(client, cast, staff):
    stored = AudioUpload(owner=cast.bob, original_name="a.wav")
    stored.file.save("a.wav", ContentFile(SECOND_OF_SILENCE))
    failed = TranscriptionJob.objects.create(upload=stored, engine="openai", status="failed")
    client.force_login(staff)
    actions = [
        ("/admin/transcription/audioupload/", "transcribe_with_openai", stored.pk),
        ("/admin/meetings/meeting/", "retranscribe_with_openai", cast.meeting.pk),
        ("/admin/transcription/transcriptionjob/", "run_again", failed.pk),
    ]
    for url, action, pk in actions:
        page = client.post(url, {"action": action, "_selected_action": [pk]}, follow=True)
        assert REFUSAL in page.content.decode(), action
    assert TranscriptionJob.objects.count() == 1

    page = client.post(
        actions[0][0],
        {"action": "transcribe_with_faster_whisper", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert "1 jobs started" in page.content.decode()
    grant(staff, "use_paid_engines")
    for url, action, pk in [actions[0], actions[2]]:
        page = client.post(url, {"action": action, "_selected_action": [pk]}, follow=True)
        assert REFUSAL not in page.content.decode(), action
    assert TranscriptionJob.objects.filter(engine="openai").count() == 3
