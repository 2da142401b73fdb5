"""A file whose header says it is short, but which goes on for hours, is cut off.

Before the fix, the header was not read and the decoder did not count: a FLAC whose header said
10 seconds but which held 5 hours of silence took the web process to 2.4 GB. Now the web process
stops decoding at the short-file threshold and hands the file to a worker, which counts as it
decodes and stops at UPLOAD_MAX_SECONDS.
"""

from __future__ import annotations

import pytest

from meetings.models import ApiToken
from tests.live.test_batch import wait_for_job
from transcription.audio import AudioFile
from transcription.models import AudioUpload, TranscriptionJob

from .audio_bombs import claim_length, memory_mib, post_upload, silent_flac

WEB_GROWTH_BOUND_MIB = 150


@pytest.fixture(scope="module")
def liar(tmp_path_factory):
    path = silent_flac(tmp_path_factory.mktemp("liar") / "short.flac", 5 * 3600)
    return claim_length(path, 10)


def test_it_stops_decoding_where_the_audio_goes_past_the_threshold(
    live_cast, liar, web_server_processes, job_workers
):
    with AudioFile(liar) as audio:
        assert audio.declared_seconds == 10  # what the header says
    token = ApiToken.issue(live_cast.bob)[1]

    with web_server_processes() as (base, process):
        idle = memory_mib(process.pid, "VmRSS")
        status, body = post_upload(base, token, liar, engine="local")
        peak = memory_mib(process.pid, "VmHWM")
    print(f"web process: idle {idle:.0f} MiB, peak {peak:.0f} MiB")
    assert status == 202, body  # longer than TRANSCRIBE_SYNC_MAX_SECONDS: a job
    assert peak - idle < WEB_GROWTH_BOUND_MIB, f"idle {idle:.0f} MiB, peak {peak:.0f} MiB"

    job = TranscriptionJob.objects.get()
    with job_workers(UPLOAD_MAX_SECONDS="600"):
        wait_for_job(job, {"done", "failed"}, timeout=300)
    assert job.status == "failed"
    assert job.error == (
        "The audio is longer than 10 minutes, the limit for uploads; it was not transcribed."
    )
    assert AudioUpload.objects.get().duration_ms == 10_000  # as claimed: the job set no other
