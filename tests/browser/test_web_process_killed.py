"""A web process killed while someone speaks: the page reconnects, the utterance is captioned once.

The site runs as an operator runs it on one machine with two web processes:
``scripts/serve.py --https localhost:<port> --web-processes 2`` (Caddy in front of both). Bob's
room page is connected to one of them; it is killed (SIGKILL: no close frame, nothing finished)
in the middle of his sentence. The page reconnects through Caddy, sends again the audio of the
unfinished utterance (docs/PROTOCOL.md, "Audio sent again after a drop"), and the sentence is
captioned and stored once.
"""

from __future__ import annotations

import os
import signal
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from meetings.models import Segment
from tests.servers import free_port, listening_pid
from tests.speech import word_error_rate

from .pages import DESKTOP, SPOKEN, logged_in_page, off_the_event_loop, wait_for


def two_free_ports() -> int:
    """A port whose next one is free too (the web processes take consecutive ports)."""
    while True:
        port = free_port()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port + 1}/", timeout=0.5):
                pass
        except OSError:
            return port


@pytest.fixture
def site(live_cast, tmp_path, https_sites, whisper) -> Iterator[tuple[str, list[int]]]:
    """https://localhost:<port> through Caddy, and the two web processes' ports behind it.

    They run the real model (``whisper``): the words of the sentence cut by the kill are how the
    test knows none was lost or captioned twice."""
    web_port = two_free_ports()
    with https_sites(tmp_path, "--port", str(web_port), "--web-processes", "2") as https:
        ports = [web_port, web_port + 1]
        for port in ports:  # both up, not only the one that answered
            wait_for(lambda port=port: connections(port) is not None, timeout=60)
        yield https.base, ports


def connections(port: int) -> float | None:
    """The web process' open room connections (its /metrics), or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    return next(
        float(line.split()[-1]) for line in text.splitlines() if line[:20] == "captions_connections"
    )


def final_text(page) -> str:
    return " ".join(page.locator("#captions .caption.final .text").all_inner_texts())


# chaos: it runs alone. Its caption after the reconnect is real speech decoded within 30 s, and
# with other workers' tests beside it that failed once in a clean-clone run on four workers.
def test_a_killed_web_process_loses_no_utterance(live_cast, browser, site, chaos):
    base, ports = site
    bob = logged_in_page(
        browser, base, "bob", microphone=True, device={**DESKTOP, "ignore_https_errors": True}
    )
    carrying = [port for port in ports if connections(port) == 1]
    assert len(carrying) == 1, [connections(port) for port in ports]

    bob.get_by_role("button", name="Start microphone").click()
    expect(bob.locator("#captions .caption.partial")).to_have_count(1, timeout=15_000)
    os.kill(listening_pid(carrying[0]), signal.SIGKILL)  # mid-sentence

    status = bob.locator("#connection-status")
    expect(status).to_contain_text("Reconnecting", timeout=10_000)
    expect(status).to_have_text("Connected", timeout=30_000)

    def captioned() -> bool:
        return word_error_rate(SPOKEN.reference, final_text(bob)) <= 0.2

    wait_for(captioned, timeout=30)
    stored = off_the_event_loop(
        lambda: list(
            Segment.objects.filter(meeting=live_cast.meeting)
            .order_by("start_ms")
            .values_list("text", flat=True)
        )
    )
    assert " ".join(stored) == final_text(bob), "stored once, as shown"
    assert word_error_rate(SPOKEN.reference, " ".join(stored)) <= 0.2
    expect(bob.locator("#room-alert")).to_be_hidden()  # nothing had to be reported missing
