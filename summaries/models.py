"""A meeting's summary, decisions and action items, written by a language model job."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from meetings.access import is_host
from meetings.jobs import Job
from meetings.models import Meeting, TranscriptVersion, User


class Summary(Job):
    """The summary of one meeting, and the job that writes it (:mod:`meetings.jobs`): each
    request is a new run, and a job writes only while its run is the current one, so an older
    job still running after "Summarise again" cannot overwrite the new one."""

    task_path = "summaries.jobs.run_summary_job"

    meeting = models.OneToOneField(Meeting, models.CASCADE, related_name="summary")
    # the transcript summarised: None for the live captions, else a re-transcription
    version = models.ForeignKey(TranscriptVersion, models.SET_NULL, null=True, blank=True)
    parts_done = models.PositiveIntegerField(default=0)
    parts_total = models.PositiveIntegerField(default=0)
    text = models.TextField(blank=True)
    decisions = models.JSONField(default=list, blank=True)  # ["...", ...]
    action_items = models.JSONField(default=list, blank=True)  # [{"owner": "", "task": ""}]
    model_name = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    edited_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "summaries"

    def __str__(self) -> str:
        return f"Summary of {self.meeting} ({self.status})"

    @property
    def has_content(self) -> bool:
        return bool(self.text or self.decisions or self.action_items)

    def refusal(self) -> str:
        """Why the job may not write the summary now, "" when it may: a host who asked for it
        must still be one (rights end everywhere at once, docs/SECURITY.md). The meeting's
        end asks as nobody, and that summary is always written."""
        asker = self.requested_by
        if asker is None or is_host(self.meeting, asker):
            return ""
        return (
            f"Not written: {asker.name}, who asked for it, is no longer a host of this meeting. "
            "A host may ask again."
        )

    def reset_progress(self) -> list[str]:
        self.parts_done = self.parts_total = 0
        return ["parts_done", "parts_total"]

    def status_json(self) -> dict:
        return {
            "status": self.status,
            "parts_done": self.parts_done,
            "parts_total": self.parts_total,
            "error": self.error,
        }
