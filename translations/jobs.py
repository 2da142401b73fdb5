"""Translating a transcript in the worker, for an export that found segments without a
translation (an export never calls the chat model itself): a
:class:`.models.TranscriptTranslation` job, run by the job runner (:mod:`meetings.jobs`, in
``manage.py transcription_worker``).

When it stops short its reason stays on the job, and the next export says it
(:func:`take_failure`): the person who asked is the one who exports again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from chat.client import ChatFailed
from meetings import jobs
from meetings.language_model import chat_endpoint
from meetings.models import Segment

from .models import TranscriptTranslation
from .translate import translate_once

#: how long the reason a translation stopped waits for the next export
FAILURE_KEEP = timedelta(hours=24)
#: for an error that is not the chat endpoint's: its text may name hosts, tables or values
UNEXPECTED = "an error on the server stopped it (it is logged for the operator)."

Status = TranscriptTranslation.Status


class NotStarted(Exception):
    """This request may not start the translation; the message says why, for people."""


def start_transcript_translation(
    meeting_id: int, segment_ids: list[int], language: str, refusal: Callable[[], str | None]
) -> TranscriptTranslation:
    """The job translating the meeting into ``language``: the one under way, found as it is,
    or a new one for these segments, queued unless ``refusal`` says why this request may not
    start it (:class:`NotStarted`). Finding one costs nothing, so it is never refused."""
    with transaction.atomic():
        # locked: of two exports at once, one queues it and the other finds it
        job, _ = TranscriptTranslation.objects.select_for_update().get_or_create(
            meeting_id=meeting_id, language=language
        )
        if job.under_way:
            return job
        if (why := refusal()) is not None:
            raise NotStarted(why)  # and a row made just now is not kept
        jobs.queue(job, segment_ids=segment_ids, done=0, failure_told=False)
    return job


def job_json(job: TranscriptTranslation) -> dict[str, Any]:
    """Where the job is, for people and clients waiting for an export; its status URL as a
    path (the views make it absolute)."""
    total = len(job.segment_ids)
    return {
        "id": job.pk,
        "language": job.language,
        "status": job.status,
        "done": job.done,
        "total": total,
        "progress": round(100 * job.done / total) if total else 0,
        "error": job.error,
        "status_url": reverse("translations-status", args=[job.meeting.slug, job.language]),
    }


def take_failure(meeting_id: int, language: str) -> str | None:
    """Why the last translation of the meeting into ``language`` stopped, for people; None if
    it did not. Told once: the next export asks for the translation again."""
    failed = TranscriptTranslation.objects.filter(
        meeting_id=meeting_id,
        language=language,
        status=Status.FAILED,
        failure_told=False,
        finished_at__gte=timezone.now() - FAILURE_KEEP,
    )
    job = failed.first()
    # conditional: of two exports at once, one tells it
    if job is None or not failed.filter(pk=job.pk).update(failure_told=True):
        return None
    return job.error


@task()
def run_transcript_translation(job_id: int, run: int) -> str:
    return jobs.run(
        TranscriptTranslation,
        job_id,
        run,
        translate_transcript,
        describe=describe_failure,
        expected=(ChatFailed,),
    )


def describe_failure(exc: Exception) -> str:
    # the chat client's messages are for people already: they name no endpoint (chat.client)
    return str(exc) if isinstance(exc, ChatFailed) else UNEXPECTED


def translate_transcript(job: TranscriptTranslation) -> None:
    """Translate the job's segments, each once (stored translations are kept); stops at the
    first failure. A segment another process is translating right now is left to it: that
    process stores it, and the next export finds it."""
    endpoint = chat_endpoint()
    if endpoint is None:
        return
    segments = Segment.objects.filter(pk__in=job.segment_ids).order_by("start_ms", "pk")
    # the job's own name on its claims: a run after a dead one's takes over what it left
    claimant = f"transcript-translation:{job.pk}"
    for done, segment in enumerate(segments.iterator(), start=1):
        translate_once(endpoint, segment, job.language, claimant=claimant)
        jobs.report(job, done=done)
