"""Fixtures of the OpenAI engines' tests: the speech server, and the settings that point at it."""

from __future__ import annotations

import pytest

from tests.speech_server import API_KEY


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
    return settings  # the engines are built again from these (tests/conftest.py)
