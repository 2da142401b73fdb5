"""One upload must not exhaust the web process's memory.

Before the fix, 2 MB of FLAC holding 3 hours of silence took a Daphne process from about
100 MB to 1.4 GB: the whole file was decoded to float32 before its length was checked. Now the
length in the container's header decides: over `UPLOAD_MAX_SECONDS` is refused, over the
short-file threshold is stored and queued without being decoded.
"""

from __future__ import annotations

import pytest

from meetings.models import ApiToken
from transcription.models import AudioUpload, TranscriptionJob

from .audio_bombs import memory_mib, post_upload, silent_flac

#: what the two requests may add to the web process; decoding 3 hours takes 660 MiB of float32
WEB_GROWTH_BOUND_MIB = 150


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bombs")
    return silent_flac(folder / "five-hours.flac", 5 * 3600), silent_flac(
        folder / "three-hours.flac", 3 * 3600
    )


def test_it_refuses_five_hours_and_queues_three_without_decoding_them(
    live_cast, bombs, web_server_processes
):
    five_hours, three_hours = bombs
    assert five_hours.stat().st_size < 4_000_000 and three_hours.stat().st_size < 2_500_000
    token = ApiToken.issue(live_cast.bob)[1]

    with web_server_processes() as (base, process):
        idle = memory_mib(process.pid, "VmRSS")
        status, body = post_upload(base, token, five_hours)
        assert status == 413, body
        assert body["error"]["code"] == "audio_too_long"
        assert "4 hours" in body["error"]["message"]

        status, body = post_upload(base, token, three_hours, engine="local")
        assert status == 202, body
        assert body["job"]["status"] == "queued"
        peak = memory_mib(process.pid, "VmHWM")

    print(f"web process: idle {idle:.0f} MiB, peak {peak:.0f} MiB")
    assert peak - idle < WEB_GROWTH_BOUND_MIB, f"idle {idle:.0f} MiB, peak {peak:.0f} MiB"
    upload = AudioUpload.objects.get()  # the refused file is not kept
    assert upload.original_name == "three-hours.flac"
    assert upload.duration_ms == 3 * 3600 * 1000  # from the header
    assert TranscriptionJob.objects.get().upload == upload
