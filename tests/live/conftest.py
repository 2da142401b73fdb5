"""Fixtures of the OpenAI engines' tests: the speech server, and the settings that point at it."""

from __future__ import annotations

import pytest

from tests.speech_server import API_KEY, SpeechServerProcess


@pytest.fixture(scope="module")
def server():
    """`python -m transcription.speech_server` (no Django), for the tests of one module."""
    process = SpeechServerProcess()
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture
def openai(settings, server):
    """The OpenAI settings, pointed at the server."""
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_REALTIME_ENDPOINT = server.realtime_url
    settings.OPENAI_REALTIME_MODEL = "gpt-4o-transcribe"
    settings.OPENAI_BATCH_MODEL = "gpt-4o-transcribe"
    return settings
