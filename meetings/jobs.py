"""Durable jobs: one runner for every kind of work the worker does (django-tasks, database
backend), whichever app it belongs to.

A kind of job is a model built on :class:`Job`: its row is what people see (status, progress,
the error in words). The runner gives every kind the same guarantees:

- **a claim**: :func:`queue` gives the row a new ``run`` number and enqueues the kind's task
  with it once the transaction commits; :func:`run` marks the row running only if it is still
  queued under that number, so a task queued twice, or for a request since replaced, does
  nothing;
- **a heartbeat**: while the work runs one thread writes ``heartbeat_at`` (:class:`Heartbeat`),
  whatever the work itself does;
- **recovery**: :func:`recover_lost_jobs` (the worker, at start and then every half of
  ``TRANSCRIPTION_JOB_STALE_SECONDS``) queues again, under a new run number, a running job whose
  heartbeat stopped, up to the kind's ``max_attempts``, then fails it saying so;
- **fencing**: every write of a running job (:func:`report`, :func:`finish`) is conditional on
  its run being the current one, so a worker that was only slow, not dead, cannot overwrite what
  the job's next run does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .text import model_text

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """A failure the job explains itself: its message is the error stored, and not logged."""


class JobLost(Exception):
    """The job is no longer this run's: another run took it up, or it was replaced."""


class Job(models.Model):
    """The row of a durable job. A kind sets ``task_path`` (its django-tasks task, which takes
    ``(pk, run)`` and calls :func:`run`) and may set ``max_attempts``, :meth:`refusal` and
    :meth:`reset_progress`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    #: a new number each time the job is queued (asked for again, or recovered): only the
    #: task of the current run may claim the job, and only it may write while it runs
    run = models.PositiveIntegerField(default=0)
    #: runs started for the current request: a worker that dies mid-job counts one
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    task_path: ClassVar[str] = ""
    max_attempts: ClassVar[int] = 3

    class Meta:
        abstract = True

    @property
    def in_progress(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def lost(self) -> bool:
        """Running, but its heartbeat stopped: its worker died, and the next worker to look
        takes it up again."""
        beat = self.heartbeat_at
        return (
            self.status == self.Status.RUNNING
            and beat is not None
            and timezone.now() - beat > stale_after()
        )

    def refusal(self) -> str:
        """Why the job may not run now ("" when it may), asked when a worker claims it."""
        return ""

    def reset_progress(self) -> list[str]:
        """Set the progress shown back to nothing (the job starts again); the fields set."""
        return []


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=settings.TRANSCRIPTION_JOB_STALE_SECONDS)


def heartbeat_seconds() -> float:
    return settings.TRANSCRIPTION_JOB_STALE_SECONDS / 6


def queue(job: Job, **fields: Any) -> None:
    """Queue ``job`` (new or finished) as a new request: a new run, its attempts counted
    afresh, ``fields`` saved with it; its task is enqueued once the transaction commits."""
    fields.update(
        status=Job.Status.QUEUED,
        run=job.run + 1,
        attempts=0,
        error="",
        started_at=None,
        heartbeat_at=None,
        finished_at=None,
    )
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    _enqueue_on_commit(job)


def _enqueue_on_commit(job: Job) -> None:
    model, pk, run_number = type(job), job.pk, job.run

    def enqueue() -> None:
        result = import_string(model.task_path).enqueue(pk, run_number)
        model.objects.filter(pk=pk, run=run_number).update(task_id=str(result.id))

    transaction.on_commit(enqueue)


def unexpected(exc: Exception) -> str:
    return f"The job failed unexpectedly ({type(exc).__name__}: {exc})."


def run(
    model: type[Job],
    pk: int,
    run_number: int | None,
    work: Callable[[Any], None],
    *,
    describe: Callable[[Exception], str] = unexpected,
    expected: tuple[type[Exception], ...] = (),
) -> str:
    """What a kind's task does: claim the job, do ``work(job)`` with a heartbeat, mark it done
    (unless ``work`` finished it itself), or failed with ``describe(exc)``, the error in words;
    "done", "failed" or "skipped" (not this run's to do). Failures other than ``expected`` are
    logged with their traceback, for the operator.

    ``run_number`` None claims the job whatever its run (a task queued by an older release,
    or called directly).
    """
    job = claim(model, pk, run_number)
    if job is None:
        return "skipped"
    if job.status == Job.Status.FAILED:
        return "failed"
    with Heartbeat(job):
        try:
            work(job)
            finish(job)
        except JobFailed as exc:
            fail(job, str(exc))
            return "failed"
        except JobLost:
            name = model._meta.verbose_name
            logger.warning("%s %s run %s was taken over; its result is dropped", name, pk, job.run)
            return "skipped"
        except Exception as exc:
            if not isinstance(exc, expected):
                logger.exception("%s %s failed", model._meta.verbose_name, pk)
            fail(job, describe(exc))
            return "failed"
    return "done"


def claim(model: type[Job], pk: int, run_number: int | None) -> Job | None:
    """Mark the job running for this worker, unless it is not queued under this run (another
    worker has it, it is finished, or it was replaced); None then. A job whose asker may no
    longer have it run is failed with the reason instead, and returned."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status != Job.Status.QUEUED:
            return None
        if run_number is not None and job.run != run_number:
            return None
        if refusal := job.refusal():
            fail(job, refusal)
            job.status = Job.Status.FAILED
            return job
        now = timezone.now()
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
    return job


def report(job: Job, **fields: Any) -> None:
    """Write fields of a running job (its progress); JobLost if the job is no longer this
    run's."""
    # a savepoint: if the database refuses the write, the job's failure can still be stored
    with transaction.atomic():
        updated = _current(job).update(**fields)
    if not updated:
        raise JobLost(f"{job._meta.verbose_name} {job.pk}: run {job.run} was taken over")


def finish(job: Job, **fields: Any) -> None:
    """Mark the job done with its result's fields, in the caller's transaction if any (a
    result and its status are stored together); JobLost if it is not this run's any more.
    Does nothing to a job already done."""
    if job.status == Job.Status.DONE:
        return
    now = timezone.now()
    fields.update(status=Job.Status.DONE, finished_at=now, heartbeat_at=now)
    with transaction.atomic():  # a savepoint, as in report()
        updated = _current(job).update(**fields)
    if not updated:
        raise JobLost(f"{job._meta.verbose_name} {job.pk}: run {job.run} was taken over")
    for name, value in fields.items():
        setattr(job, name, value)


def fail(job: Job, reason: str) -> None:
    """Mark the job failed with ``reason`` (unless another run took it over)."""
    # the reason may quote an exception's text, and the failure must be storable whatever it says
    now = timezone.now()
    type(job).objects.filter(pk=job.pk, run=job.run).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, error=model_text(reason), finished_at=now
    )


def _current(job: Job) -> models.QuerySet:
    return type(job).objects.filter(pk=job.pk, run=job.run, status=Job.Status.RUNNING)


class Heartbeat:
    """While the job runs, a thread tells the database its worker is alive."""

    def __init__(self, job: Job) -> None:
        self.rows = _current(job)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{job.pk}")

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(heartbeat_seconds()):
                self.rows.update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def job_models() -> list[type[Job]]:
    """Every kind of job the installed apps define."""
    return [m for m in apps.get_models() if issubclass(m, Job) and m.task_path]


def recover_lost_jobs() -> list[Job]:
    """Queue again the jobs whose worker died, under a new run; fail those that had their
    attempts. Returns them."""
    recovered: list[Job] = []
    cutoff = timezone.now() - stale_after()
    for model in job_models():
        with transaction.atomic():
            # no heartbeat at all: a row from before the runner's time
            silent = models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True)
            lost = model.objects.select_for_update(skip_locked=True).filter(
                silent, status=Job.Status.RUNNING
            )
            for job in lost:
                _recover(job)
                recovered.append(job)
    for job in recovered:
        logger.warning("%s lost its worker: %s", job, job.get_status_display())
    return recovered


def _recover(job: Job) -> None:
    job.run += 1  # the dead worker's run, if it was only slow, may write nothing more
    if job.attempts >= job.max_attempts:
        job.status = Job.Status.FAILED
        job.error = (
            f"The worker stopped {job.attempts} times while running this job "
            "(killed, restarted or out of memory); it was not tried again."
        )
        job.finished_at = timezone.now()
    else:
        job.status = Job.Status.QUEUED
    progress = job.reset_progress()
    job.save(update_fields=["run", "status", "error", "finished_at", *progress])
    if job.status == Job.Status.QUEUED:
        _enqueue_on_commit(job)
