from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from .base import Cast
from .speech_server import SpeechServerProcess


@pytest.fixture(autouse=True, scope="session")
def _real_services(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The suite tests the real servers: PostgreSQL and Redis, never stand-ins."""
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql"
    assert (
        settings.CHANNEL_LAYERS["default"]["BACKEND"]
        == "config.channel_layer.ResilientRedisChannelLayer"
    )
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


@pytest.fixture
def live_cast(transactional_db) -> Cast:
    """The cast for consumer tests, whose database work happens on other threads."""
    return Cast()


@pytest.fixture(scope="module")
def speech_server() -> Iterator[SpeechServerProcess]:
    """`python -m transcription.speech_server` (no Django), for the tests of one module."""
    process = SpeechServerProcess()
    try:
        process.start()
        yield process
    finally:
        process.stop()
