"""The summary job: queued when a meeting ends or a host asks, run by the job runner
(:mod:`meetings.jobs`, in ``manage.py transcription_worker``), which writes the summary through
the chat endpoint."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from chat.client import ChatFailed
from meetings import jobs
from meetings.budget import ChatMeter
from meetings.exports import lines_from_segments, short_clock
from meetings.language_model import HOW_TO_ENABLE, chat_endpoint
from meetings.models import Meeting, Segment, User
from meetings.text import model_text, one_line

from .models import Summary
from .summarise import Notes, summarise


def request_summary(meeting: Meeting, by: User | None) -> Summary:
    """Queue a (new) summary of the meeting; the job starts once the transaction commits.

    A summary already queued or running is left to finish, unless its worker is gone.
    """
    with transaction.atomic():
        summary, _ = Summary.objects.select_for_update().get_or_create(meeting=meeting)
        # one whose asker lost the right will not be written: it is replaced, not waited for
        if summary.in_progress and not summary.lost and summary.run and not summary.refusal():
            return summary
        jobs.queue(summary, parts_done=0, parts_total=0, requested_by=by, updated_at=timezone.now())
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
    # Whatever fails, storing included, the summary ends failed with a reason: one left
    # "running" would hide the button that asks again.
    return jobs.run(
        Summary, summary_id, run, write_summary, describe=describe_failure, expected=(ChatFailed,)
    )


def describe_failure(exc: Exception) -> str:
    # the chat client's messages are for people already: they name no endpoint (chat.client)
    return str(exc) if isinstance(exc, ChatFailed) else UNEXPECTED


def write_summary(summary: Summary) -> None:
    endpoint = chat_endpoint()
    if endpoint is None:
        raise jobs.JobFailed("Summaries are not set up. " + HOW_TO_ENABLE)
    version = summary.meeting.versions.first()  # the newest re-transcription, if any
    lines = transcript_lines(summary.meeting, version)
    save(summary, version=version, model_name=endpoint.model)
    notes = summarise(
        endpoint,
        lines,
        lambda done, total: save(summary, parts_done=done, parts_total=total),
        ChatMeter(summary.meeting_id),
        language=summary.meeting.language,
    )
    store(summary, notes)


def transcript_lines(meeting: Meeting, version) -> list[str]:
    """The transcript as the model reads it: "[12:34] Speaker: text", one line each."""
    segments = Segment.objects.of_version(meeting, version)
    return [
        f"[{short_clock(line.start_ms)}] {one_line(line.speaker) or 'Someone'}: "
        f"{one_line(line.text)}"
        for line in lines_from_segments(segments)
    ]


def save(summary: Summary, **fields) -> None:
    """Write fields while the job runs, if its run is still the current one (a host may have
    asked again): :class:`meetings.jobs.JobLost` otherwise."""
    jobs.report(summary, updated_at=timezone.now(), **fields)


def model_line(text: str) -> str:
    """A decision, owner or task of the model's: one line, as the host's edit keeps them."""
    return one_line(model_text(text))


def clean_lines(lines: list[str]) -> list[str]:
    """The model's lines cleaned, those left empty taken out."""
    return [line for line in map(model_line, lines) if line]


def store(summary: Summary, notes: Notes) -> None:
    # the model's text, cleaned as it is stored: a NUL in it made PostgreSQL refuse the row
    jobs.finish(
        summary,
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
        updated_at=timezone.now(),
    )
