from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from .pages import CHROMIUM, CONSOLE, SPOKEN


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, whose fake microphone plays SPOKEN once, then silence."""
    CONSOLE.clear()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--use-fake-device-for-media-stream",
                # played once, then silence: the speaker pauses and the final follows
                f"--use-file-for-fake-audio-capture={SPOKEN.path}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()
    print("\n".join(CONSOLE))
