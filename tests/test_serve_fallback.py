"""The one-command demo starts on a fresh machine, even where PostgreSQL and Redis are missing.

It runs without DEBUG over plain http, with a SECRET_KEY it generates into .env once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from dotenv import dotenv_values
from websockets.sync.client import ClientConnection, connect

from .servers import free_port

ROOT = Path(__file__).resolve().parent.parent
# what a fresh machine does not have (the test run sets some of them for itself)
UNSET = {"DEBUG", "HTTPS", "SECRET_KEY", "DOTENV_PATH", "STATIC_ROOT"}


@pytest.fixture
def demo_sites() -> Callable[..., AbstractContextManager[str]]:
    """`scripts/serve.py`'s one-command demo, started by the test: `demo_sites(tmp_path, ...)`."""
    return demo


@contextmanager
def demo(tmp_path: Path, port: int, log: Path) -> Iterator[str]:
    """Run scripts/serve.py until the site answers; yields its URL, stops it afterwards."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in UNSET},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/meetings",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "EMBEDDED_DB_PATH": str(tmp_path / "demo.sqlite3"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        # the repository's own .env and collected files are the developer's: not touched here
        "DOTENV_PATH": str(tmp_path / ".env"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "scripts/serve.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.5)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def fetch(url: str) -> tuple[int, str, str]:
    """Status, final URL and body, following redirects as a browser would."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.url, error.read().decode()


def test_it_says_so_and_serves_on_the_embedded_defaults(tmp_path, demo_sites):
    port = free_port()
    log = tmp_path / "serve.log"
    with demo_sites(tmp_path, port, log) as base:
        status, _, body = fetch(f"{base}/healthz")
        assert status == 200
        assert '"status": "ok"' in body
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5) as r:
            login_page = r.read().decode()
            assert r.status == 200
            assert r.url == f"{base}/accounts/login/"  # plain http, no redirect to https
            assert "Secure" not in r.headers["Set-Cookie"]  # the CSRF cookie works over http
    # the web server it started went down with it
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/healthz", timeout=2)
    output = log.read_text()
    assert (
        "PostgreSQL and Redis not reachable: running on the embedded defaults "
        "(SQLite file, in-memory channel layer), for a single-process demo only." in output
    )
    assert "Demo admin created. Log in at" in output
    assert (tmp_path / "demo.sqlite3").exists()
    # without DEBUG, the collected files are served under their hashed names
    assert re.search(r'href="/static/css/site\.[0-9a-f]{12}\.css"', login_page)


def test_it_runs_without_debug_and_keeps_its_generated_key(tmp_path, demo_sites):
    port = free_port()
    with demo_sites(tmp_path, port, tmp_path / "first.log") as base:
        status, _, page = fetch(f"{base}/no-such-page/")
        assert status == 404
        assert "<h1>Page not found</h1>" in page  # the friendly page, not DEBUG's
        stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet
        assert fetch(base + stylesheet.group(1))[0] == 200
    env_file = tmp_path / ".env"
    key = dotenv_values(env_file)["SECRET_KEY"]
    assert key and len(key) >= 50
    assert env_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert "Generated a SECRET_KEY into" in (tmp_path / "first.log").read_text()

    with demo_sites(tmp_path, port, tmp_path / "second.log"):
        pass
    assert dotenv_values(env_file)["SECRET_KEY"] == key
    second = (tmp_path / "second.log").read_text()
    assert "Generated a SECRET_KEY" not in second
    assert "Demo admin created" not in second


def test_the_env_file_is_not_committed():
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_embedded_demo_captions_a_room_end_to_end(tmp_path, demo_sites, monkeypatch):
    """SQLite, the in-memory channel layer and live state: sign up, open a room, speak, read
    the caption live on a second connection and then in the transcript."""
    # the demo's engine without a model: what it says is scripted, what it hears is real audio
    monkeypatch.setenv("TRANSCRIPTION_ENGINE", "scripted")
    port = free_port()
    with (
        demo_sites(tmp_path, port, tmp_path / "serve.log") as base,
        httpx.Client(base_url=base, trust_env=False, follow_redirects=True) as web,
    ):
        assert "Demo admin created" in (tmp_path / "serve.log").read_text()
        post_form(web, "/accounts/signup/", SIGNUP)
        room = post_form(web, "/meetings/new/", {"title": "Demo standup", "language": "en"})
        slug = room.url.path.strip("/").rsplit("/", 1)[-1]
        assert room.url.path == f"/m/{slug}/" and 'id="close-codes"' in room.text

        socket_url = f"ws://127.0.0.1:{port}/ws/meetings/{slug}/"
        headers = {"Cookie": f"sessionid={web.cookies['sessionid']}"}
        with (
            connect(socket_url, origin=base, additional_headers=headers, proxy=None) as speaker,
            connect(socket_url, origin=base, additional_headers=headers, proxy=None) as listener,
        ):
            assert next_event(speaker, "session.ready")["participant"]["role"] == "host"
            ready = next_event(listener, "session.ready")
            # both connections hold a presence lease in the demo's own memory
            assert ready["connections"] == 2
            speaker.send(json.dumps({"type": "session.start", "sample_rate": 16000}))
            for frame in speech_then_silence():
                speaker.send(frame)
            speaker.send(json.dumps({"type": "input_audio_buffer.commit"}))
            heard = next_event(listener, "caption.final")
        assert heard["text"] == SCRIPTED_LINE
        assert heard["speaker"]["name"] == "Demo Person"

        transcript = web.get(f"/m/{slug}/transcript/")
        assert transcript.status_code == 200
        assert SCRIPTED_LINE in transcript.text


SIGNUP = {
    "username": "demo-person",
    "display_name": "Demo Person",
    "password1": "a long demo passphrase",
    "password2": "a long demo passphrase",
}
SCRIPTED_LINE = "This caption was scripted: no speech model heard it."


def post_form(web: httpx.Client, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form as its page would, with the CSRF token; the page it leads to."""
    web.get(path).raise_for_status()
    response = web.post(path, data={**fields, "csrfmiddlewaretoken": web.cookies["csrftoken"]})
    assert response.status_code == 200 and response.history, response.text
    return response


def speech_then_silence() -> Iterator[bytes]:
    """1.5 s of a loud tone, then 1.5 s of silence, in 100 ms frames of 16 kHz PCM16."""
    t = np.arange(1600) / 16000
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    yield from [tone] * 15
    yield from [bytes(3200)] * 15


def next_event(socket: ClientConnection, kind: str) -> dict:
    """The next event of ``kind`` (within 30 s), past the others."""
    deadline = time.monotonic() + 30
    while True:
        event = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event["type"] == kind:
            return event
