"""The suite's tiers and the fixtures every tier shares.

A test's tier follows from the fixtures it uses, never from a mark set by hand:

* ``model``: the real speech model decodes (``whisper``, or the OpenAI engine's speech server);
* ``server``: real server processes (``web_server``, ``web_servers``, ``speech_server``);
* ``browser``: Debian's Chromium (``browser``);
* ``chaos``: a service every test shares, PostgreSQL or Redis, is restarted under the test, or
  an outage is timed too tightly to share the cores (``chaos``); other tests that kill processes
  of their own are in the ``server`` tier.

``./scripts/test.sh --fast`` runs the tests in none of them. Rooms caption with the scripted
engine (transcription/engines/scripted.py), in the test process and in the servers the tests
start (tests/servers.py), so rooms, rights, security and exports are tested in moments; a test
about speech asks for the real model with ``whisper``, which also puts it in the ``model`` tier
and makes the servers it starts (and the shared ``web_server``) run the local engine.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver

from transcription.engine_factory import batch_engine, decode_slots, realtime_engine

from .base import Cast
from .servers import (
    HttpsSite,
    daphne_process,
    daphne_server,
    free_port,
    serve_https,
    transcription_worker,
)
from .speech_server import SpeechServerProcess

#: fixture → the tiers of every test that uses it (directly or through another fixture)
TIERS_OF_FIXTURE = {
    "whisper": ("model",),
    "speech_server": ("model", "server"),
    "speech_servers": ("model", "server"),
    "web_server": ("server",),
    "web_servers": ("server",),
    "web_server_processes": ("server",),
    "https_sites": ("server",),
    "https_site": ("server",),
    "job_workers": ("server",),
    "demo_sites": ("server",),
    "browser": ("browser",),
    "chaos": ("chaos",),
}


def pytest_itemcollected(item: pytest.Item) -> None:
    fixtures = getattr(item, "fixturenames", ())
    for tier in {tier for f in fixtures for tier in TIERS_OF_FIXTURE.get(f, ())}:
        item.add_marker(tier)


#: the tiers' usual cost, heaviest first
TIERS_BY_COST = ("model", "browser", "server")


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Costly files first: xdist hands whole files to its workers in this order, so the run does
    not end with one worker on a long file while the other has nothing left to do."""
    cost_of_file: dict[str, int] = {}
    for item in items:
        tiers = {mark.name for mark in item.iter_markers()}  # as pytest_itemcollected set them
        cost = min((TIERS_BY_COST.index(t) for t in tiers if t in TIERS_BY_COST), default=3)
        path = item.nodeid.split("::")[0]
        cost_of_file[path] = min(cost, cost_of_file.get(path, cost))
    first_seen = {path: n for n, path in enumerate(cost_of_file)}

    def place(item: pytest.Item) -> tuple[int, int]:
        path = item.nodeid.split("::")[0]
        return cost_of_file[path], first_seen[path]

    items.sort(key=place)


@pytest.fixture(autouse=True)
def _decode_slots_of_its_own() -> None:
    """Each test runs on an event loop of its own: a decode slot held or waited for on an
    earlier test's loop can never be given back, so every test starts with the process's
    decode scheduler built anew, all of it free, and a realtime engine that holds that one (a
    session left mid-decode by one test held up test_turns' wait for idle slots in CI)."""
    decode_slots.cache_clear()
    realtime_engine.cache_clear()


@receiver(setting_changed)
def _engines_follow_the_settings(**kwargs) -> None:
    """The process builds one engine per name from the settings and keeps it: a test that
    changes them (``settings``, ``override_settings``) gets engines built from its own, and the
    tests after it never meet an engine pointed at a server that has stopped."""
    realtime_engine.cache_clear()
    batch_engine.cache_clear()


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
    with django_db_blocker.unblock():
        _end_leftover_sessions()


def _end_leftover_sessions() -> None:
    """Ends (and names) any other session still on the test database before it is dropped.

    A process a test started and stopped may still be closing its connection when the run ends;
    PostgreSQL then refuses to drop the database and the run fails on a warning. What is left
    is printed, so a real leak shows in the output.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid), application_name, state, left(query, 80)"
            " FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for _, application, state, query in cursor.fetchall():
            print(f"ended a session left on the test database: {application!r} {state} {query}")
    connection.close()


@pytest.fixture(autouse=True)
def _channel_layer_per_test() -> Iterator[None]:
    """Each test gets a channel layer of its own. channels_redis keeps one receive lock per
    layer, bound to the event loop that took it: a consumer still receiving when its test's loop
    closed left it held, and the next test on that worker failed ("bound to a different event
    loop")."""
    yield
    channel_layers.backends.clear()


@pytest.fixture
def whisper(settings) -> None:
    """Rooms caption with the real local engine (faster-whisper, tiny.en): in this process, in
    the servers and workers the test starts, and in ``web_server``.

    Without it they use the scripted engine of the test settings.
    """
    settings.TRANSCRIPTION_ENGINE = "local"


@pytest.fixture
def chaos() -> None:
    """Declares that the test restarts a service every test shares, PostgreSQL or Redis (and
    brings it back as it found it), or times an outage too tightly to share the cores: such
    tests run alone, after the others."""


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


@pytest.fixture
def live_cast(transactional_db) -> Cast:
    """The cast for consumer tests, whose database work happens on other threads."""
    return Cast()


@pytest.fixture(scope="session")
def _shared_web_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock(), daphne_server(TRANSCRIPTION_ENGINE="scripted") as base:
        yield base


@pytest.fixture(scope="session")
def _shared_whisper_web_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock(), daphne_server(TRANSCRIPTION_ENGINE="local") as base:
        yield base


@pytest.fixture
def web_server(request, transactional_db) -> str:
    """The base URL of the run's one Daphne (`python -m config.server`) for the test's engine.

    Shared by every test that needs no server of its own: it serves the test database, which
    `transactional_db` commits to and empties after each test. It captions with the scripted
    engine; a test that asks for ``whisper`` gets the run's other one, on the local engine
    (started when a test first needs it).
    """
    if "whisper" in request.fixturenames:
        return request.getfixturevalue("_shared_whisper_web_server")
    return request.getfixturevalue("_shared_web_server")


@pytest.fixture
def web_servers(transactional_db) -> Callable[..., AbstractContextManager[str]]:
    """Starts a Daphne of the test's own, with settings of its own: `with web_servers(**env)`."""
    return daphne_server


@pytest.fixture
def web_server_processes(transactional_db) -> Callable[..., AbstractContextManager[tuple]]:
    """`web_servers` that also yield the process: `with web_server_processes(**env) as (base,
    process)`, for tests that read its memory or kill it."""
    return daphne_process


@pytest.fixture
def https_sites(transactional_db) -> Callable[..., AbstractContextManager]:
    """`scripts/serve.py --https` (Caddy before N web processes): `https_sites(tmp_path, ...)`."""
    return serve_https


@pytest.fixture(scope="module")
def https_site(
    request, django_db_setup, django_db_blocker, tmp_path_factory
) -> Iterator[tuple[HttpsSite, str]]:
    """One `serve.py --https` site for the tests of a module that do not restart it, as
    (the site, its web process's own http base URL); the module's ``HTTPS_SITE_ENV`` is added to
    its environment. It captions with the scripted engine unless that names another (the
    module's site cannot follow one test's ``whisper``). Tests that use it take ``live_cast``
    or ``transactional_db``: the site serves the test database, emptied after each test."""
    web_port = free_port()
    env = getattr(request.module, "HTTPS_SITE_ENV", {})
    tmp_path = tmp_path_factory.mktemp("https-site")
    with django_db_blocker.unblock(), serve_https(tmp_path, "--port", str(web_port), **env) as site:
        yield site, f"http://127.0.0.1:{web_port}"


@pytest.fixture
def job_workers(transactional_db) -> Callable[..., AbstractContextManager]:
    """`manage.py transcription_worker` processes on the test database: `job_workers(**env)`."""
    return transcription_worker


@pytest.fixture
def speech_servers() -> type[SpeechServerProcess]:
    """Speech server processes the test starts and stops itself: `speech_servers(...)`."""
    return SpeechServerProcess


@pytest.fixture(scope="module")
def speech_server() -> Iterator[SpeechServerProcess]:
    """`python -m transcription.speech_server` (no Django), for the tests of one module."""
    process = SpeechServerProcess()
    try:
        process.start()
        yield process
    finally:
        process.stop()
