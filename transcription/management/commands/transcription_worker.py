"""Run every durable job: `python manage.py transcription_worker`.

The django-tasks database worker, which runs every kind of job (batch transcriptions, summaries,
translations of whole transcripts: meetings.jobs), plus a watchman that re-queues jobs whose
worker died (killed, out of memory, machine restarted) and a sweeper that ends the meetings
everyone left (transcription.live.idle). Run as many as the machine has room for: a job runs
once at a time, a meeting ends once.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from meetings.jobs import recover_lost_jobs
from transcription.live.idle import SWEEP_SECONDS, end_idle_meetings

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run queued jobs of every kind (and recover those whose worker died)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", action="store_true", help="exit when no job is left to run")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between polls of the queue"
        )

    def handle(self, *args, batch: bool, interval: float, **options) -> None:
        self.report(recover_lost_jobs())
        watchman = threading.Thread(target=self.watch, daemon=True, name="job-watchman")
        watchman.start()
        sweeper = threading.Thread(target=self.sweep, daemon=True, name="meeting-sweeper")
        sweeper.start()
        # No autoreloader: it would run jobs in a child process that outlives a killed parent.
        worker_args = ["--interval", str(interval), "--no-startup-delay", "--no-reload"]
        if batch:
            worker_args.append("--batch")
        call_command("db_worker", *worker_args, verbosity=options["verbosity"])

    def watch(self) -> None:
        period = settings.TRANSCRIPTION_JOB_STALE_SECONDS / 2
        stop = threading.Event()
        while not stop.wait(period):
            try:
                self.report(recover_lost_jobs())
            finally:
                connection.close()

    def sweep(self) -> None:
        stop = threading.Event()
        while not stop.wait(SWEEP_SECONDS):
            try:
                end_idle_meetings()
            except Exception:  # PostgreSQL or Redis away: the next minute tries again
                logger.exception("the sweep of idle meetings failed")
            finally:
                connection.close()

    def report(self, jobs) -> None:
        for job in jobs:
            self.stderr.write(f"{job} lost its worker: now {job.get_status_display()}.")
