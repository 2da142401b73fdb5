"""Durable batch transcription jobs, run by the django-tasks database worker.

``start_job`` records a :class:`TranscriptionJob` and enqueues :func:`run_transcription_job`.
The worker (``manage.py transcription_worker``) claims it, transcribes with the chosen batch
engine a few minutes of audio at a time (:mod:`transcription.batch`: its memory does not grow
with the file's length), reports progress, and stores the result: a new transcript version for
a meeting, the segments themselves for an upload. A job whose worker dies is run again by the
next worker that notices (``recover_stale_jobs``), up to ``MAX_ATTEMPTS`` times, then failed
with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from datetime import timedelta
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from meetings import exports
from meetings.budget import BudgetSpent
from meetings.models import Meeting, Segment, TranscriptVersion
from meetings.text import model_text

from ..audio import AudioDecodeError, AudioTooLong, describe_seconds
from ..engine_factory import batch_engine
from ..engines.base import EngineUnavailable, Transcript, TranscriptSegment
from ..models import AudioUpload, TranscriptionJob
from . import costs
from .files import transcribe_file

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROGRESS_SAVE_SECONDS = 1.0


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=settings.TRANSCRIPTION_JOB_STALE_SECONDS)


def heartbeat_seconds() -> float:
    return settings.TRANSCRIPTION_JOB_STALE_SECONDS / 6


Status = TranscriptionJob.Status


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
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def reserve_job_slot(user) -> bool:
    """Whether the user may start one more job (call it in the transaction that starts it).

    Locks the user's row until the transaction ends: two uploads at once would otherwise both
    count the same unfinished jobs and both pass.
    """
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    unfinished = TranscriptionJob.objects.unfinished().filter(created_by=user).count()
    return unfinished < settings.MAX_QUEUED_JOBS_PER_USER


def _enqueue(job_id: int) -> None:
    result = run_transcription_job.enqueue(job_id)
    TranscriptionJob.objects.filter(pk=job_id).update(task_id=str(result.id))


@task()
def run_transcription_job(job_id: int) -> str:
    job = claim(job_id)
    if job is None:
        return "skipped"
    with Heartbeat(job.pk):
        try:
            run(job)
        except Exception as exc:
            fail(job, describe_failure(exc))
            if not isinstance(exc, AudioDecodeError | EngineUnavailable | BudgetSpent):
                logger.exception("transcription job %s failed", job.pk)
            return "failed"
    return "done"


def claim(job_id: int) -> TranscriptionJob | None:
    """Mark the job running, unless another worker has it, it is finished, or whoever asked
    for it may no longer have it run (then it fails, saying why)."""
    with transaction.atomic():
        job = TranscriptionJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        if refusal := job.refusal():
            fail(job, refusal)
            return None
        now = timezone.now()
        job.status = Status.RUNNING
        job.attempts += 1
        job.started_at = now
        job.heartbeat_at = now
        job.progress = 0
        job.error = ""
        job.save(
            update_fields=["status", "attempts", "started_at", "heartbeat_at", "progress", "error"]
        )
    return job


def run(job: TranscriptionJob) -> None:
    engine = costs.metered(batch_engine(job.engine), job.engine, job.meeting_id)
    progress = ProgressReporter(job.pk)
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
        job.result = transcript_json(transcript)
        job.upload.duration_ms = int((job.audio_seconds or 0) * 1000)
        job.upload.save(update_fields=["duration_ms"])
        succeed(job)


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
        job.version = version
        succeed(job)


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


def succeed(job: TranscriptionJob) -> None:
    job.status = Status.DONE
    job.progress = 100
    job.finished_at = timezone.now()
    job.save()


def fail(job: TranscriptionJob, reason: str) -> None:
    # the reason may quote an exception's text, and the failure must be storable whatever it says
    TranscriptionJob.objects.filter(pk=job.pk).update(
        status=Status.FAILED, error=model_text(reason), finished_at=timezone.now()
    )


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

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.saved_at = 0.0

    def __call__(self, percent: float) -> None:
        now = time.monotonic()
        if now - self.saved_at < PROGRESS_SAVE_SECONDS and percent < 100:
            return
        self.saved_at = now
        TranscriptionJob.objects.filter(pk=self.job_id, status=Status.RUNNING).update(
            progress=round(min(max(percent, 0.0), 99.9), 1), heartbeat_at=timezone.now()
        )


class Heartbeat:
    """While the job runs, a thread tells the database its worker is alive."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{job_id}")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(heartbeat_seconds()):
                TranscriptionJob.objects.filter(pk=self.job_id, status=Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connection.close()


def recover_stale_jobs() -> list[TranscriptionJob]:
    """Run again the jobs whose worker died; fail them after MAX_ATTEMPTS. Returns them."""
    cutoff = timezone.now() - stale_after()
    recovered = []
    with transaction.atomic():
        stale = TranscriptionJob.objects.select_for_update(skip_locked=True).filter(
            status=Status.RUNNING, heartbeat_at__lt=cutoff
        )
        for job in stale:
            if job.attempts >= MAX_ATTEMPTS:
                job.status = Status.FAILED
                job.error = (
                    f"The worker stopped {job.attempts} times while running this job "
                    "(killed, restarted or out of memory); it was not tried again."
                )
                job.finished_at = timezone.now()
            else:
                job.status = Status.QUEUED
                job.progress = 0
            job.save(update_fields=["status", "error", "finished_at", "progress"])
            if job.status == Status.QUEUED:
                transaction.on_commit(lambda job_id=job.pk: _enqueue(job_id))
            recovered.append(job)
    for job in recovered:
        logger.warning("job %s lost its worker: %s", job.pk, job.get_status_display())
    return recovered


def transcribe_now(audio: np.ndarray, engine: str, language: str | None, progress=None):
    """Transcribe in this process (short uploads), counted against the day's budget if paid."""
    metered = costs.metered(batch_engine(engine), engine, None)
    return metered.transcribe(audio, language=language, progress=progress)
