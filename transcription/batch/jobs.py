"""Durable batch transcription jobs, run by the django-tasks database worker.

``start_job`` records a :class:`TranscriptionJob` and enqueues :func:`run_transcription_job`.
The worker (``manage.py transcription_worker``) claims it, transcribes with the chosen batch
engine a few minutes of audio at a time (:mod:`transcription.batch`: its memory does not grow
with the file's length), reports progress, and stores the result: a new transcript version for
a meeting, the segments themselves for an upload. The claim, the heartbeat and the recovery of
a job whose worker died are the job runner's (:mod:`meetings.jobs`).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from meetings import exports, jobs
from meetings.budget import BudgetSpent
from meetings.models import Meeting, Segment, TranscriptVersion
from meetings.text import model_text

from ..audio import AudioDecodeError, AudioTooLong, describe_seconds
from ..engine_factory import batch_engine
from ..engines.base import EngineUnavailable, Transcript, TranscriptSegment
from ..models import AudioUpload, TranscriptionJob
from . import costs
from .files import transcribe_file

PROGRESS_SAVE_SECONDS = 1.0


def start_job(
    *,
    engine: str,
    upload: AudioUpload | None = None,
    meeting: Meeting | None = None,
    language: str = "en",
    created_by=None,
    options: dict | None = None,
) -> TranscriptionJob:
    """Record a job and hand it to the worker once the transaction commits."""
    job = TranscriptionJob.objects.create(
        upload=upload,
        meeting=meeting,
        engine=engine,
        language=language,
        options=options or {},
        created_by=created_by,
    )
    jobs.queue(job)
    return job


def reserve_job_slot(user) -> bool:
    """Whether the user may start one more job (call it in the transaction that starts it).

    Locks the user's row until the transaction ends: two uploads at once would otherwise both
    count the same unfinished jobs and both pass.
    """
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    unfinished = TranscriptionJob.objects.unfinished().filter(created_by=user).count()
    return unfinished < settings.MAX_QUEUED_JOBS_PER_USER


#: failures the job's error explains: not logged with a traceback
EXPECTED = (AudioDecodeError, EngineUnavailable, BudgetSpent)


@task()
def run_transcription_job(job_id: int, run: int | None = None) -> str:
    """The worker's task: ``run`` None is a task queued before jobs had run numbers."""
    return jobs.run(
        TranscriptionJob, job_id, run, transcribe_job, describe=describe_failure, expected=EXPECTED
    )


def transcribe_job(job: TranscriptionJob) -> None:
    engine = costs.metered(batch_engine(job.engine), job.engine, job.meeting_id)
    progress = ProgressReporter(job)
    language = job.language or None
    prompt = job.options.get("prompt", "")
    if job.upload_id:
        # Chunk by chunk, counting: the header may have lied about the length to the web process.
        with job.upload.file.open("rb") as audio:
            transcript, job.audio_seconds = transcribe_file(
                engine,
                audio,
                language=language,
                prompt=prompt,
                progress=progress,
                max_seconds=settings.UPLOAD_MAX_SECONDS,
            )
        finish_upload(job, transcript)
    else:
        finish_meeting(job, transcribe_meeting(job, engine, language, progress))


class SpeakerTranscript(NamedTuple):
    speaker_name: str
    speaker: object  # the User, or None if the account is gone
    transcript: Transcript
    offset_ms: int


def transcribe_meeting(job, engine, language, progress) -> list[SpeakerTranscript]:
    """Each speaker's recordings separately, so every segment keeps its speaker."""
    meeting = job.meeting
    prompt = job.options.get("prompt", meeting.glossary)
    recordings = list(meeting.recordings.select_related("speaker"))
    if not recordings:
        raise AudioDecodeError("this meeting has no recordings to transcribe")
    # No length limit: the server recorded these itself, and chunks bound the memory anyway.
    lengths = [max(r.duration_ms, 1) for r in recordings]
    total = sum(lengths)
    done = 0
    job.audio_seconds = 0.0
    results = []
    for recording, length in zip(recordings, lengths, strict=True):

        def report(percent: float, done=done, length=length) -> None:
            progress(100 * (done + length * percent / 100) / total)

        with recording.file.open("rb") as audio:
            transcript, seconds = transcribe_file(
                engine, audio, language=language, prompt=prompt, progress=report
            )
        results.append(
            SpeakerTranscript(
                recording.speaker_name, recording.speaker, transcript, recording.offset_ms
            )
        )
        done += length
        job.audio_seconds += seconds
    return results


def finish_upload(job: TranscriptionJob, transcript: Transcript) -> None:
    # a savepoint: if the database refuses the result, the job's failure can still be stored
    with transaction.atomic():
        job.upload.duration_ms = int((job.audio_seconds or 0) * 1000)
        job.upload.save(update_fields=["duration_ms"])
        succeed(job, result=transcript_json(transcript))


def finish_meeting(job: TranscriptionJob, results) -> None:
    meeting = job.meeting
    with transaction.atomic():
        version = TranscriptVersion.objects.create(
            meeting=meeting,
            engine=job.engine,
            label=f"{job.get_engine_display()} · {timezone.localtime():%Y-%m-%d %H:%M}",
        )
        segments = []
        for speaker_name, speaker, transcript, offset_ms in results:
            for part in transcript.segments:
                text = model_text(part.text).strip()
                if not text:
                    continue
                segments.append(
                    Segment(
                        meeting=meeting,
                        version=version,
                        speaker=speaker,
                        speaker_name=speaker_name,
                        item_id=f"v{version.pk}-{len(segments)}",
                        text=text,
                        original_text=text,
                        start_ms=offset_ms + part.start_ms,
                        end_ms=offset_ms + part.end_ms,
                        avg_logprob=part.avg_logprob,
                        confidence=part.confidence,
                        language=transcript.language or "",
                        engine=job.engine,
                        words=[
                            [w, offset_ms + start, offset_ms + end, p]
                            for w, start, end, p in part.words
                        ],
                    )
                )
        Segment.objects.bulk_create(segments)
        succeed(job, version=version)


def transcript_json(transcript: Transcript) -> dict:
    """The result to store; a speech model's text is cleaned as a chat model's is (a NUL, as
    JSON's \\u0000, makes PostgreSQL refuse the row)."""
    return {
        "text": model_text(transcript.text),
        "language": transcript.language,
        "segments": [segment_json(s) for s in transcript.segments],
    }


def segment_json(segment: TranscriptSegment) -> dict:
    data = asdict(segment)
    data["text"] = model_text(segment.text)
    data["confidence"] = segment.confidence
    return data


def result_lines(result: dict) -> list[exports.ExportLine]:
    """An upload's stored result as export lines (uploads have no speakers)."""
    return [
        exports.ExportLine(s["start_ms"], s["end_ms"], "", s["text"].strip(), s["confidence"])
        for s in result["segments"]
        if s["text"].strip()
    ]


def succeed(job: TranscriptionJob, **result) -> None:
    """Store the result with the job's end (in the caller's transaction)."""
    jobs.finish(job, progress=100, audio_seconds=job.audio_seconds, **result)


def fail(job: TranscriptionJob, reason: str) -> None:
    jobs.fail(job, reason)


def describe_failure(exc: Exception) -> str:
    """What went wrong, in words an admin can act on."""
    if isinstance(exc, AudioTooLong):
        limit = describe_seconds(exc.limit_seconds)
        return f"The audio is longer than {limit}, the limit for uploads; it was not transcribed."
    if isinstance(exc, AudioDecodeError):
        return f"The audio could not be read: {exc}."
    if isinstance(exc, EngineUnavailable):
        return f"The speech engine is not available: {exc}"
    if isinstance(exc, BudgetSpent):
        return f"{exc} The transcription was stopped; what it had done is not kept."
    if isinstance(exc, FileNotFoundError):
        return f"An audio file is missing from storage ({exc.filename})."
    if isinstance(exc, MemoryError):
        return "The worker ran out of memory on this file."
    return f"Transcription failed unexpectedly ({type(exc).__name__}: {exc})."


class ProgressReporter:
    """Engine progress → the job's row, at most once a second."""

    def __init__(self, job: TranscriptionJob) -> None:
        self.job = job
        self.saved_at = 0.0

    def __call__(self, percent: float) -> None:
        now = time.monotonic()
        if now - self.saved_at < PROGRESS_SAVE_SECONDS and percent < 100:
            return
        self.saved_at = now
        jobs.report(self.job, progress=round(min(max(percent, 0.0), 99.9), 1))


def transcribe_now(audio: np.ndarray, engine: str, language: str | None, progress=None):
    """Transcribe in this process (short uploads), counted against the day's budget if paid."""
    metered = costs.metered(batch_engine(engine), engine, None)
    return metered.transcribe(audio, language=language, progress=progress)
