"""Real server processes for tests: Daphne serving the project on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# What decides how config.settings loads; a subprocess given `production_env` sees none of them.
SETTINGS_VARIABLES = {"DEBUG", "HTTPS", "SECRET_KEY", "DOTENV_PATH", "DJANGO_SETTINGS_MODULE"}


def production_env(**env: str) -> dict[str, str]:
    """The environment of a process that loads config.settings from `env` alone (no .env)."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return {**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DOTENV_PATH": os.devnull, **env}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def daphne_server(port: int | None = None, **env: str) -> Iterator[str]:
    """Start the site as production does (on a free port unless given); yields its URL.

    The server is `python -m config.server`: Daphne's command line with the project's fixes.

    Call it inside a test that uses `transactional_db` (or `live_cast`), so what the
    test writes is committed and visible to the server.
    """
    with daphne_process(port, **env) as (base, _process):
        yield base


@contextmanager
def daphne_process(port: int | None = None, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`daphne_server`, also yielding the process (to read its memory from /proc/<pid>)."""
    port = port or free_port()
    server_env = dict(
        os.environ, CAPTIONS_TEST_SERVER="1", DJANGO_SETTINGS_MODULE="config.test_settings", **env
    )
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(server_log(port), "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.server",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited with {process.returncode}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, process
    finally:
        stop_process(process)
        log.close()


def server_log(port: int) -> Path:
    """The file a `daphne_server` on this port writes its output and access log to."""
    return ROOT / "var" / f"daphne-{port}.log"


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server the way a supervisor would: SIGTERM, then SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
