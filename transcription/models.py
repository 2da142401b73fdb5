"""Batch transcription: uploaded audio and the durable jobs that transcribe it."""

from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from meetings.jobs import Job

from .engines import BATCH_ENGINES, ENGINES, PAID_ENGINES


def upload_path(upload: AudioUpload, filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"uploads/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class AudioUpload(models.Model):
    """An audio or video file someone uploaded to be transcribed."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="audio_uploads"
    )
    file = models.FileField(upload_to=upload_path)
    original_name = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name


#: the batch engines a job may run, as the registry lists them
ENGINE_CHOICES = [(name, ENGINES[name].label) for name in BATCH_ENGINES]
#: paid engines (the registry marks them) need this permission: superusers have it, operators
#: grant it to users or groups in the admin
USE_PAID_ENGINES = "transcription.use_paid_engines"


def may_use_engine(user, engine: str) -> bool:
    return engine not in PAID_ENGINES or user.has_perm(USE_PAID_ENGINES)


def paid_engine_refusal(engine: str) -> str:
    """What a user who may not use a paid engine is told."""
    free = " or ".join(name for name in BATCH_ENGINES if name not in PAID_ENGINES)
    return (
        f"The {engine} engine is paid for by the operator of this service, and your account "
        f"may not use it. Choose another engine ({free}), or ask an administrator for access."
    )


class TranscriptionJobQuerySet(models.QuerySet):
    def unfinished(self) -> TranscriptionJobQuerySet:
        """Jobs waiting for a worker or running."""
        return self.filter(
            status__in=[TranscriptionJob.Status.QUEUED, TranscriptionJob.Status.RUNNING]
        )


class TranscriptionJob(Job):
    """One batch transcription of an upload or of a meeting's recordings.

    The worker (``manage.py transcription_worker``) runs it through the job runner
    (:mod:`meetings.jobs`): a heartbeat while it runs, run again if its worker dies (or failed,
    with the reason).
    """

    task_path = "transcription.batch.jobs.run_transcription_job"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    upload = models.ForeignKey(
        AudioUpload, models.CASCADE, null=True, blank=True, related_name="jobs"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", models.CASCADE, null=True, blank=True, related_name="jobs"
    )
    engine = models.CharField(max_length=20, choices=ENGINE_CHOICES, default="whispercpp")
    language = models.CharField(max_length=10, blank=True, default="en")
    options = models.JSONField(default=dict, blank=True)

    progress = models.FloatField(default=0, help_text="Percent done.")
    created_at = models.DateTimeField(default=timezone.now)
    audio_seconds = models.FloatField(null=True, blank=True)

    #: for uploads: {"text", "language", "segments": [{start_ms, end_ms, text, ...}]}
    result = models.JSONField(null=True, blank=True)
    #: for meetings: the transcript version the job wrote
    version = models.OneToOneField(
        "meetings.TranscriptVersion", models.SET_NULL, null=True, blank=True, related_name="job"
    )

    objects = TranscriptionJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("use_paid_engines", "Can transcribe with paid engines (OpenAI)")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(upload__isnull=False) | models.Q(meeting__isnull=False),
                name="job_has_a_source",
            )
        ]

    def __str__(self) -> str:
        return f"Job {self.pk}: {self.source_label} with {self.get_engine_display()}"

    def get_absolute_url(self) -> str:
        return reverse("api-job", args=[self.pk])

    @property
    def source_label(self) -> str:
        if self.upload_id:
            return self.upload.original_name
        return f"meeting “{self.meeting.title}”"

    def refusal(self) -> str:
        """Why the job may not run now, "" when it may: whoever asked for it must still have
        an active account that may use its engine (rights end everywhere at once,
        docs/SECURITY.md). A job nobody is recorded as asking for runs as the system's."""
        asker = self.created_by
        if asker is None:
            return ""
        if not asker.is_active:
            return "Not run: the account that asked for it was deactivated."
        if not may_use_engine(asker, self.engine):
            return (
                f"Not run: the account that asked for it may no longer use the {self.engine} "
                "engine."
            )
        return ""

    def reset_progress(self) -> list[str]:
        self.progress = 0
        return ["progress"]

    @property
    def real_time_factor(self) -> float | None:
        if not (self.audio_seconds and self.started_at and self.finished_at):
            return None
        return (self.finished_at - self.started_at).total_seconds() / self.audio_seconds
