"""The browser tests' Chromium: one per pytest process, a connection and new contexts per test.

Chromium starts once, as a Playwright browser server (``playwright launch-server``); each test
connects to it and makes contexts of its own (cookies, permissions, storage), which close with
the connection when the test ends. Playwright's sync API marks an event loop as running in the
thread while it is connected, where Django's ORM and pytest-asyncio may not run: so the
connection, not the browser, is what each test opens and closes.

The fake microphone plays SPOKEN from its start for each new capture (each getUserMedia), in
any context, then silence (``%noloop``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from .pages import CHROMIUM, CONSOLE, SPOKEN

CHROMIUM_OPTIONS = {
    "executablePath": CHROMIUM,
    "headless": True,
    "args": [
        "--use-fake-device-for-media-stream",
        # played once, then silence: the speaker pauses and the final follows
        f"--use-file-for-fake-audio-capture={SPOKEN.path}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ],
}


@pytest.fixture(scope="session")
def chromium_endpoint(tmp_path_factory) -> Iterator[str]:
    """Debian's Chromium behind a Playwright browser server, for this process's tests."""
    folder = tmp_path_factory.mktemp("chromium")
    config, output = folder / "launch-server.json", folder / "launch-server.log"
    config.write_text(json.dumps(CHROMIUM_OPTIONS))
    command = ["launch-server", "--browser", "chromium", "--config", str(config)]
    with open(output, "wb") as log:
        # a process group of its own: `python -m playwright` runs the driver (node) as a child,
        # which a signal to the wrapper alone would leave running, with its Chromium
        server = subprocess.Popen(
            [sys.executable, "-m", "playwright", *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield _endpoint_of(server, output)
    finally:
        _stop_group(server)


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the server's group (the driver closes Chromium on it), SIGKILL if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _endpoint_of(server: subprocess.Popen, output: Path) -> str:
    """The ws:// URL the browser server prints once it listens."""
    deadline = time.monotonic() + 60
    while not (said := output.read_text()).endswith("\n"):
        assert server.poll() is None, f"launch-server exited: {said}"
        assert time.monotonic() < deadline, f"launch-server said no endpoint: {said!r}"
        time.sleep(0.1)
    endpoint = said.splitlines()[0]
    assert endpoint.startswith("ws://"), said
    return endpoint


@pytest.fixture
def browser(chromium_endpoint) -> Iterator[Browser]:
    """The process's Chromium, whose fake microphone plays SPOKEN once per capture, then silence.

    Closing it at the end of the test closes every context the test made.
    """
    CONSOLE.clear()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.connect(chromium_endpoint)
        yield chromium
        chromium.close()
    print("\n".join(CONSOLE))
