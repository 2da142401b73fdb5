"""Translations of finals: one per segment and language, shared by everyone who reads it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from meetings.jobs import Job
from meetings.models import Meeting, Segment


class TranslationQuerySet(models.QuerySet):
    def for_segments(self, segments, language: str) -> dict[int, Translation]:
        """segment id → its translation into ``language``, for those that have a current one
        (of the text as it is: not of a text corrected since)."""
        texts = {s.pk: s.text for s in segments}
        rows = self.filter(segment__in=list(texts), language=language)
        return {row.segment_id: row for row in rows if row.source_text == texts[row.segment_id]}

    def languages_of(self, meeting: Meeting) -> list[str]:
        """The languages some segment of the meeting has been translated into, sorted."""
        rows = self.filter(segment__meeting=meeting).values_list("language", flat=True)
        return sorted(set(rows))


class Translation(models.Model):
    """A segment's text in another language, made once by the chat model and kept.

    Unique per (segment, language): whichever server process translates first stores it, and
    every listener who chose the language, now or later, and every export read that row.
    """

    segment = models.ForeignKey(Segment, models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10)
    text = models.TextField()
    #: the segment's text that was translated: a host's later correction makes this one stale
    source_text = models.TextField()
    #: the chat model that translated it (LLM_MODEL then)
    model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TranslationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "language"], name="one_translation_per_segment_and_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} → {self.language}"

    def is_current(self, segment: Segment) -> bool:
        """True while it translates the segment's text as it is (not corrected since)."""
        return self.source_text == segment.text


class TranscriptTranslation(Job):
    """A transcript's translation into one language, made by the worker (``jobs.py``) for an
    export that found segments without one; one per meeting and language, asked for again by
    the next export once it has ended."""

    task_path = "translations.jobs.run_transcript_translation"

    meeting = models.ForeignKey(Meeting, models.CASCADE, related_name="+")
    language = models.CharField(max_length=10)
    #: the segments the export found without a translation
    segment_ids = models.JSONField(default=list, blank=True)
    #: segments gone through so far
    done = models.PositiveIntegerField(default=0)
    #: an export has told its failure: the next one asks for it again
    failure_told = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "language"], name="one_transcript_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"Translation of meeting {self.meeting_id} into {self.language} ({self.status})"

    @property
    def under_way(self) -> bool:
        """Queued or running with a worker alive: an export waits for it rather than ask again
        (a new row, never queued, has run 0)."""
        return self.in_progress and self.run > 0 and not self.lost

    def reset_progress(self) -> list[str]:
        self.done = 0
        return ["done"]
