"""Batch transcription end to end: uploads, jobs in a real worker process, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files import File

from meetings.models import ApiToken, Recording, Segment
from tests.servers import ROOT
from tests.speech import clip, clips, word_error_rate
from transcription.audio import decode_file, resample
from transcription.batch.jobs import start_job
from transcription.models import AudioUpload, TranscriptionJob

pytestmark = pytest.mark.usefixtures("whisper")

SPOKEN = clip("A_LS_1089-134686-0000")  # "he hoped there would be stew for dinner..."

# container → (codec, file suffix)
CONTAINERS = {
    "wav": ("pcm_s16le", "wav"),
    "mp3": ("libmp3lame", "mp3"),
    "m4a": ("aac", "m4a"),
    "ogg": ("libopus", "ogg"),
    "webm": ("libopus", "webm"),
    "flac": ("flac", "flac"),
}


def encode(samples: np.ndarray, path: Path, codec: str, rate: int = 48000) -> Path:
    """Write speech in another container and codec, as a phone or a browser would."""
    audio = resample(samples, 16000, rate)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame_size = 960
        for start in range(0, audio.size, frame_size):
            chunk = audio[start : start + frame_size]
            fmt = "s16" if codec in ("pcm_s16le", "flac") else "fltp"
            data = (chunk * 32767).astype(np.int16) if fmt == "s16" else chunk
            frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def post_audio(client, token, path: Path, **fields):
    with open(path, "rb") as f:
        return client.post(
            "/api/audio/transcribe",
            {"file": f, **fields},
            headers={"Authorization": f"Bearer {token}"},
        )


@pytest.fixture
def token(live_cast) -> str:
    return ApiToken.issue(live_cast.bob)[1]


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_upload_of_each_container_is_transcribed(client, token, tmp_path, container):
    codec, suffix = CONTAINERS[container]
    path = encode(decode_file(SPOKEN.path), tmp_path / f"speech.{suffix}", codec)
    response = post_audio(client, token, path, response_format="verbose_json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert word_error_rate(SPOKEN.reference, data["text"]) <= 0.15
    assert data["duration"] == pytest.approx(10.4, abs=0.3)
    assert all(0 < s["confidence"] <= 1 for s in data["segments"])
    upload = AudioUpload.objects.get()
    assert upload.original_name == f"speech.{suffix}" and upload.size_bytes == path.stat().st_size


def test_upload_answers_in_the_asked_format(client, token):
    srt = post_audio(client, token, SPOKEN.path, response_format="srt")
    assert srt.status_code == 200 and srt["Content-Type"].startswith("application/x-subrip")
    assert srt.content.decode().startswith("1\n00:00:0")
    text = post_audio(client, token, SPOKEN.path, response_format="text")
    assert word_error_rate(SPOKEN.reference, text.content.decode()) <= 0.15


def test_bad_uploads_get_clear_errors_and_store_nothing(client, token, tmp_path, settings):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("this is not audio at all\n" * 50)
    response = post_audio(client, token, not_audio)
    assert response.status_code == 415
    assert "not an audio or video file" in response.json()["error"]["message"]

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    response = post_audio(client, token, empty)
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_file"

    settings.UPLOAD_MAX_BYTES = 100_000
    response = post_audio(client, token, SPOKEN.path)
    assert response.status_code == 413
    assert "larger than the" in response.json()["error"]["message"]

    response = client.post(
        "/api/audio/transcribe", {"engine": "local"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "missing_file"
    with open(SPOKEN.path, "rb") as f:
        anonymous = client.post("/api/audio/transcribe", {"file": f})
    assert anonymous.status_code == 401
    assert AudioUpload.objects.count() == 0


# --- Jobs in a real worker process ---------------------------------------------------------


def wait_for_job(job: TranscriptionJob, statuses, timeout: float = 120) -> TranscriptionJob:
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job.status} at {job.progress}%"
        time.sleep(0.2)


def test_a_long_upload_becomes_a_job_with_progress(client, token, settings, job_workers):
    settings.TRANSCRIBE_SYNC_MAX_SECONDS = 5
    response = post_audio(client, token, SPOKEN.path, engine="local")
    assert response.status_code == 202
    status_url = response.json()["job"]["status_url"]
    assert response.json()["job"]["status"] == "queued"

    job = TranscriptionJob.objects.get()
    seen_progress = set()
    with job_workers():
        deadline = time.monotonic() + 120
        while job.status != "done":
            assert time.monotonic() < deadline and job.status != "failed", job.error
            seen_progress.add(job.progress)
            time.sleep(0.1)
            job.refresh_from_db()
    status = client.get(status_url, headers={"Authorization": f"Bearer {token}"}).json()
    assert status["status"] == "done" and status["progress"] == 100
    assert word_error_rate(SPOKEN.reference, status["result"]["text"]) <= 0.15
    srt = client.get(
        status_url + "?response_format=srt", headers={"Authorization": f"Bearer {token}"}
    )
    assert srt.content.decode().startswith("1\n")
    assert job.real_time_factor is not None and job.audio_seconds == pytest.approx(10.4, abs=0.1)


def meeting_with_recordings(cast, names: list[str]) -> None:
    """Bob and Alice take turns: one recording per clip, on the meeting's clock."""
    offset = 0
    for i, name in enumerate(names):
        speaker = (cast.bob, cast.alice)[i % 2]
        spoken = clip(name)
        with open(spoken.path, "rb") as f:
            recording = Recording(
                meeting=cast.meeting,
                speaker=speaker,
                speaker_name=speaker.name,
                offset_ms=offset,
                duration_ms=0,
            )
            recording.file.save(f"{name}.wav", File(f), save=False)
            recording.duration_ms = int(decode_file(spoken.path).size / 16)
            recording.save()
        offset += recording.duration_ms + 1000


def test_a_job_started_in_the_admin_adds_a_transcript_version(admin_client, live_cast, job_workers):
    names = ["A_LS_1089-134691-0001", "A01_jfk_inaugural"]
    meeting_with_recordings(live_cast, names)
    response = admin_client.post(
        "/admin/meetings/meeting/",
        {"action": "retranscribe_with_faster_whisper", "_selected_action": [live_cast.meeting.pk]},
        follow=True,
    )
    assert "1 jobs started" in response.content.decode()
    job = TranscriptionJob.objects.get()
    with job_workers():
        wait_for_job(job, {"done", "failed"})
    assert job.status == "done", job.error
    segments = list(job.version.segments.order_by("start_ms"))
    by_speaker = {}
    for s in segments:
        by_speaker.setdefault(s.speaker_name, []).append(s.text)
    assert word_error_rate(clip(names[0]).reference, " ".join(by_speaker["Bob"])) <= 0.15
    assert word_error_rate(clip(names[1]).reference, " ".join(by_speaker["Alice"])) <= 0.15
    alice_start = min(s.start_ms for s in segments if s.speaker_name == "Alice")
    assert alice_start >= 5400  # after Bob's recording, on the meeting's clock
    assert all(s.words and 0 < s.confidence <= 1 for s in segments)
    assert Segment.objects.for_meeting(live_cast.meeting).count() == 0  # live one untouched

    jobs_page = admin_client.get("/admin/transcription/transcriptionjob/").content.decode()
    assert "side by side with live" in jobs_page and 'value="100.0"' in jobs_page


def test_a_job_survives_its_worker_being_killed(live_cast, job_workers):
    names = [c.name for c in clips()][:8]  # about a minute of speech: time to kill the worker
    meeting_with_recordings(live_cast, names)
    job = start_job(engine="local", meeting=live_cast.meeting)
    stale = {"TRANSCRIPTION_JOB_STALE_SECONDS": "3"}
    with job_workers(**stale) as first:
        wait_for_job(job, {"running"})
        while job.progress < 10:
            time.sleep(0.1)
            job.refresh_from_db()
        first.send_signal(signal.SIGKILL)
        first.wait()
    job.refresh_from_db()
    assert job.status == "running" and job.progress < 100  # the dead worker's job, for now

    with job_workers(**stale):
        wait_for_job(job, {"done", "failed"})
    assert job.status == "done", job.error
    assert job.attempts == 2
    assert job.version.segments.count() >= len(names)


def test_a_job_that_cannot_read_its_audio_says_why(live_cast, job_workers):
    with open(SPOKEN.path, "rb") as f:
        upload = AudioUpload(owner=live_cast.bob, original_name="broken.wav")
        upload.file.save("broken.wav", File(f), save=True)
    Path(upload.file.path).write_bytes(b"RIFF\x00\x00garbage" * 10)
    job = start_job(engine="local", upload=upload)
    with job_workers():
        wait_for_job(job, {"done", "failed"})
    assert job.status == "failed"
    assert job.error.startswith("The audio could not be read")


def test_the_transcribe_command_prints_the_transcript_and_progress(tmp_path):
    path = encode(decode_file(SPOKEN.path), tmp_path / "speech.mp3", "libmp3lame")
    result = subprocess.run(
        [sys.executable, "manage.py", "transcribe", str(path), "--format", "vtt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, CAPTIONS_TEST_SERVER="1"),
        timeout=120,
        check=True,
    )
    assert result.stdout.startswith("WEBVTT")
    text = " ".join(line for line in result.stdout.splitlines()[1:] if line and "-->" not in line)
    assert word_error_rate(SPOKEN.reference, text) <= 0.15
    assert "100%" in result.stderr and "real-time factor" in result.stderr

    missing = subprocess.run(
        [sys.executable, "manage.py", "transcribe", "/no/such/file.wav"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, CAPTIONS_TEST_SERVER="1"),
    )
    assert missing.returncode != 0 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
