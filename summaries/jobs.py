"""The summary job: queued when a meeting ends or a host asks, run by the django-tasks worker
(``manage.py transcription_worker``), which writes the summary through the chat endpoint."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from meetings.budget import ChatMeter
from meetings.chat import ChatFailed
from meetings.exports import lines_from_segments, short_clock
from meetings.language_model import HOW_TO_ENABLE, chat_endpoint
from meetings.models import Meeting, Segment, User
from meetings.text import model_text, one_line

from .models import Summary
from .summarise import Notes, summarise

logger = logging.getLogger(__name__)

Status = Summary.Status


def request_summary(meeting: Meeting, by: User | None) -> Summary:
    """Queue a (new) summary of the meeting; the job starts once the transaction commits.

    A summary already queued or running is left to finish, unless its worker is gone.
    """
    with transaction.atomic():
        summary, _ = Summary.objects.select_for_update().get_or_create(meeting=meeting)
        # one whose asker lost the right will not be written: it is replaced, not waited for
        if summary.in_progress and not summary.is_stuck and summary.run and not summary.refusal():
            return summary
        summary.run += 1
        summary.status = Status.QUEUED
        summary.parts_done = summary.parts_total = 0
        summary.error = ""
        summary.requested_by = by
        summary.updated_at = timezone.now()
        summary.finished_at = None
        summary.save(
            update_fields=[
                *("run", "status", "parts_done", "parts_total", "error"),
                *("requested_by", "updated_at", "finished_at"),
            ]
        )
        run = summary.run
        transaction.on_commit(lambda: run_summary_job.enqueue(summary.pk, run))
    return summary


def summarise_ended_meeting(meeting: Meeting) -> Summary | None:
    """When a meeting ends: queue its summary if an endpoint is configured and it has a
    transcript, unless a host has edited the current summary (asking again is theirs)."""
    if chat_endpoint() is None or not Segment.objects.filter(meeting=meeting).exists():
        return None
    edited = Summary.objects.filter(meeting=meeting, edited_by__isnull=False).exists()
    return None if edited else request_summary(meeting, None)


UNEXPECTED = "Writing the summary failed unexpectedly; try again."


@task()
def run_summary_job(summary_id: int, run: int) -> str:
    summary = claim(summary_id, run)
    if summary is None:
        return "skipped"
    # Whatever fails, storing included, the summary ends failed with a reason: one left
    # "running" hides the button that asks again for a quarter of an hour.
    try:
        return write_summary(summary)
    except Exception:
        logger.exception("summary %s failed", summary.pk)
        return finish(summary, error=UNEXPECTED)


def write_summary(summary: Summary) -> str:
    endpoint = chat_endpoint()
    if endpoint is None:
        return finish(summary, error="Summaries are not set up. " + HOW_TO_ENABLE)
    version = summary.meeting.versions.first()  # the newest re-transcription, if any
    lines = transcript_lines(summary.meeting, version)
    save(summary, version=version, model_name=endpoint.model)
    try:
        notes = summarise(
            endpoint,
            lines,
            lambda done, total: progress(summary, done, total),
            ChatMeter(summary.meeting_id),
        )
    except ChatFailed as error:
        return finish(summary, error=str(error))
    return finish(summary, notes=notes)


def transcript_lines(meeting: Meeting, version) -> list[str]:
    """The transcript as the model reads it: "[12:34] Speaker: text", one line each."""
    segments = Segment.objects.of_version(meeting, version)
    return [
        f"[{short_clock(line.start_ms)}] {one_line(line.speaker) or 'Someone'}: "
        f"{one_line(line.text)}"
        for line in lines_from_segments(segments)
    ]


def claim(summary_id: int, run: int) -> Summary | None:
    """Mark the summary running, unless this run was replaced or already taken, or whoever
    asked for it may no longer (then it fails, saying why)."""
    with transaction.atomic():
        summary = Summary.objects.select_for_update().filter(pk=summary_id, run=run).first()
        if summary is None or summary.status != Status.QUEUED:
            return None
        if refusal := summary.refusal():
            finish(summary, error=refusal)
            return None
        summary.status = Status.RUNNING
        summary.updated_at = timezone.now()
        summary.save(update_fields=["status", "updated_at"])
    return summary


def save(summary: Summary, **fields) -> bool:
    """Write fields if this run is still the current one (a host may have asked again)."""
    fields["updated_at"] = timezone.now()
    # a savepoint: if the database refuses the write, the failure can still be written
    with transaction.atomic():
        updated = Summary.objects.filter(pk=summary.pk, run=summary.run).update(**fields)
    return bool(updated)


def progress(summary: Summary, done: int, total: int) -> None:
    save(summary, parts_done=done, parts_total=total)


def model_line(text: str) -> str:
    """A decision, owner or task of the model's: one line, as the host's edit keeps them."""
    return one_line(model_text(text))


def clean_lines(lines: list[str]) -> list[str]:
    """The model's lines cleaned, those left empty taken out."""
    return [line for line in map(model_line, lines) if line]


def finish(summary: Summary, *, notes: Notes | None = None, error: str = "") -> str:
    now = timezone.now()
    if notes is None:
        save(summary, status=Status.FAILED, error=error, finished_at=now)
        return "failed"
    # the model's text, cleaned as it is stored: a NUL in it made PostgreSQL refuse the row
    save(
        summary,
        status=Status.DONE,
        text=model_text(notes.summary).strip(),
        decisions=clean_lines(notes.decisions),
        action_items=[
            {"owner": model_line(item["owner"]), "task": task}
            for item in notes.action_items
            if (task := model_line(item["task"]))
        ],
        error="",
        edited_by=None,
        edited_at=None,
        finished_at=now,
    )
    return "done"
