"""Only audio containers are opened, and FFmpeg never opens a network address.

Before the fix, an upload named `*.m3u8` holding an HLS playlist made the web process fetch
every URL in it (FFmpeg picks the demuxer from the file's name and contents): a request from
inside the server to any address the attacker names. Now FFmpeg may use only the audio
demuxers (`format_whitelist`) and no protocol at all (`protocol_whitelist`).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from meetings.models import ApiToken
from transcription.batch.jobs import run_transcription_job, start_job
from transcription.models import AudioUpload, TranscriptionJob


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on the loopback: its URL, and the paths it was asked for."""
    requests: list[str] = []
    handler = type("Handler", (Recorder,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hostile_files(url: str) -> dict[str, bytes]:
    return {
        "playlist.m3u8": (
            f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{url}/segment.ts\n#EXT-X-ENDLIST\n"
        ).encode(),
        "list.ffconcat": f"ffconcat version 1.0\nfile {url}/part.wav\n".encode(),
        "subtitles.srt": b"1\n00:00:00,000 --> 00:00:01,000\nhello\n",
    }


def test_it_refuses_playlists_and_other_non_audio_uploads(client, cast, listener):
    url, requests = listener
    token = ApiToken.issue(cast.bob)[1]
    for name, data in hostile_files(url).items():
        response = client.post(
            "/api/audio/transcribe",
            {"file": SimpleUploadedFile(name, data)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 415, (name, response.content)
        error = response.json()["error"]
        assert error["code"] == "unsupported_media"
        assert "Send wav, mp3, m4a, ogg/opus, webm or flac" in error["message"]
    assert requests == []
    assert AudioUpload.objects.count() == 0


def test_it_never_opens_an_address_in_a_stored_file(live_cast, listener):
    url, requests = listener
    upload = AudioUpload(owner=live_cast.bob, original_name="playlist.m3u8")
    upload.file.save("playlist.m3u8", ContentFile(hostile_files(url)["playlist.m3u8"]))
    job = start_job(engine="local", upload=upload)

    assert run_transcription_job.call(job.pk) == "failed"
    job = TranscriptionJob.objects.get(pk=job.pk)
    assert job.error.startswith("The audio could not be read")
    assert requests == []
