"""Fixtures of the OpenAI engines' tests: the speech server, and the settings that point at it."""

from __future__ import annotations

import pytest

from tests.speech_server import API_KEY
from transcription.engine_factory import realtime_engine


@pytest.fixture(scope="module")
def server(speech_server):
    """The speech server of tests/conftest.py, under the name these tests use."""
    return speech_server


@pytest.fixture
def openai(settings, server):
    """The OpenAI settings, pointed at the server."""
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_REALTIME_ENDPOINT = server.realtime_url
    settings.OPENAI_REALTIME_MODEL = "gpt-4o-transcribe"
    settings.OPENAI_BATCH_MODEL = "gpt-4o-transcribe"
    # rooms take the process's engine, built once from the settings: build it from these
    realtime_engine.cache_clear()
    yield settings
    realtime_engine.cache_clear()
