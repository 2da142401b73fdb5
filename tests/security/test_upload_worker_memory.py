"""The worker transcribes a file of any length in bounded memory.

Before the fix, the worker decoded a whole upload to float32 and handed it to the engine in one
piece: 3 hours of silence took it 860 MB above idle, and the allowed 200 MB of low-bitrate audio
is about 14 hours. Now it decodes and transcribes a few minutes at a time.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.files import File

from tests.live.test_batch import wait_for_job
from tests.servers import ROOT
from transcription.batch.jobs import start_job
from transcription.models import AudioUpload

from .audio_bombs import memory_mib, silent_flac

# What the job adds over the idle worker is fixed, whatever the length: the model (tiny.en),
# its buffers, a chunk and, since the speech gate, scipy.signal (about 70 MB on import: 262 MiB
# here before it, 357 after, on machine B). The unbounded code took 860 MB for these 3 hours.
WORKER_GROWTH_BOUND_MIB = 400


@contextmanager
def idle_worker(job_workers) -> Iterator[subprocess.Popen]:
    """A worker process, yielded once it has started polling the queue."""
    log_name = f"worker-memory-{os.getpid()}"
    log_path = ROOT / "var" / f"{log_name}.log"
    log_path.unlink(missing_ok=True)
    with job_workers(log_name) as process:
        deadline = time.monotonic() + 60
        while b"Starting worker" not in log_path.read_bytes():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield process


def test_it_transcribes_three_hours_in_bounded_memory(live_cast, tmp_path, job_workers):
    path = silent_flac(tmp_path / "three-hours.flac", 3 * 3600)
    with open(path, "rb") as f:
        upload = AudioUpload(owner=live_cast.bob, original_name=path.name)
        upload.file.save(path.name, File(f), save=True)

    with idle_worker(job_workers) as worker:
        idle = memory_mib(worker.pid, "VmRSS")
        job = start_job(engine="local", upload=upload, created_by=live_cast.bob)
        wait_for_job(job, {"done", "failed"}, timeout=900)
        peak = memory_mib(worker.pid, "VmHWM")

    print(f"worker: idle {idle:.0f} MiB, peak {peak:.0f} MiB")
    assert job.status == "done", job.error
    assert job.audio_seconds == pytest.approx(3 * 3600, abs=1)
    assert job.result["text"] == "" and job.progress == 100
    assert peak - idle < WORKER_GROWTH_BOUND_MIB, f"idle {idle:.0f} MiB, peak {peak:.0f} MiB"
