"""A worker killed mid-job: the job is taken up by another worker and completes there, once.

Real worker processes (`manage.py transcription_worker`) on the test database, talking to a
stand-in chat endpoint that holds one request until the test has killed the worker asking it.
Batch transcription jobs have theirs in tests/live/test_batch.py (they need the speech model).
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.test import Client
from django_tasks_db.models import DBTaskResult

from summaries.jobs import request_summary
from tests.chat_server import Reply, chat_server, llm_settings
from tests.summary_model import minutes_model
from tests.test_summaries import SHORT_MEETING, say, use
from tests.test_summaries_worker import wait_for_summary
from tests.test_translation_exports import use_chat
from tests.test_translation_glossary import captions_sent, reply, to_french
from translations.models import TranscriptTranslation, Translation

#: a dead worker's job is noticed within seconds
STALE = {"TRANSCRIPTION_JOB_STALE_SECONDS": "3"}
EXPORT = "/m/weekly-sync/transcript/export.json?translation=fr"
SAID = [f"The budget of item {n}." for n in range(30)]


class Held:
    """A stand-in model that holds its ``nth`` request until released."""

    def __init__(self, reply: Reply, nth: int) -> None:
        self.reply, self.nth = reply, nth
        self.count = 0
        self.lock = threading.Lock()
        self.asked = threading.Event()
        self.released = threading.Event()

    def __call__(self, body: dict[str, Any]) -> str:
        with self.lock:
            self.count += 1
            held = self.count == self.nth
        if held:
            self.asked.set()
            self.released.wait(60)
        return self.reply(body)


def kill_worker_while_held(job_workers, held: Held, env: dict[str, str]) -> None:
    with job_workers(**env) as worker:
        assert held.asked.wait(60), "the worker never asked the model"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    held.released.set()


def test_a_summary_is_written_by_the_next_worker_once_its_worker_is_killed(
    live_cast, settings, job_workers
):
    say(live_cast, SHORT_MEETING)
    held = Held(minutes_model, nth=1)
    with chat_server(held) as server:
        use(settings, server)
        summary = request_summary(live_cast.meeting, live_cast.alice)
        env = {**llm_settings(server), **STALE}
        kill_worker_while_held(job_workers, held, env)
        summary.refresh_from_db()
        assert (summary.status, summary.attempts) == ("running", 1)  # the dead worker's, for now

        with job_workers(**env):
            summary = wait_for_summary({"done", "failed"})
    assert summary.status == "done", summary.error
    assert (summary.attempts, summary.run) == (2, 2)
    assert {"owner": "Bob", "task": "write the release notes by Friday"} in summary.action_items
    assert len(server.requests) == 2  # the dead worker's question, and the one answered
    assert DBTaskResult.objects.filter(return_value="done").count() == 1


def test_a_transcript_translation_is_finished_by_the_next_worker_once_its_worker_is_killed(
    live_cast, settings, job_workers
):
    for n, text in enumerate(SAID):
        live_cast.factory.make_segment(
            live_cast.meeting, live_cast.bob, text=text, start_ms=n * 2000
        )
    dave = Client()
    dave.force_login(live_cast.dave)
    held = Held(reply, nth=5)
    with chat_server(held) as server:
        use_chat(settings, server)
        assert dave.get(EXPORT).status_code == 202  # queued for the worker
        env = {**llm_settings(server), **STALE}
        kill_worker_while_held(job_workers, held, env)
        job = TranscriptTranslation.objects.get()
        assert (job.status, job.done) == ("running", 4)

        with job_workers(**env):
            deadline = time.monotonic() + 60
            while job.status not in {"done", "failed"}:
                assert time.monotonic() < deadline, f"the job stayed {job.status}"
                time.sleep(0.2)
                job.refresh_from_db()
        assert job.status == "done", job.error
        assert (job.attempts, job.done) == (2, len(SAID))
        # each caption asked once, but the one the dead worker was waiting for: twice
        assert sorted(captions_sent(server)) == sorted([*SAID, SAID[4]])
        assert Translation.objects.filter(language="fr").count() == len(SAID)

        response = dave.get(EXPORT)
        assert response.status_code == 200
        assert [s["translation"] for s in response.json()["segments"]] == list(map(to_french, SAID))
