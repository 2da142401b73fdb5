"""The one-command demo still starts where PostgreSQL and Redis cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_it_says_so_and_serves_on_the_embedded_defaults(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/meetings",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "EMBEDDED_DB_PATH": str(tmp_path / "demo.sqlite3"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    log = tmp_path / "serve.log"
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
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        body = r.read().decode()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.5)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
                assert r.status == 200
        finally:
            server.terminate()
            server.wait(timeout=30)
    # the web server it started went down with it
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    output = log.read_text()
    assert (
        "PostgreSQL and Redis not reachable: running on the embedded defaults "
        "(SQLite file, in-memory channel layer), for a single-process demo only." in output
    )
    assert "Demo admin created. Log in at" in output
    assert '"status": "ok"' in body
    assert (tmp_path / "demo.sqlite3").exists()
