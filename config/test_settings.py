"""Settings for the test suite: the real PostgreSQL and Redis, apart from a dev server's data."""

import os
import tempfile

# Tests never read a developer's .env, so it cannot change them (the servers the tests start
# inherit this), and settings need a key before they load with DEBUG off.
os.environ["DOTENV_PATH"] = os.devnull
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")

from .settings import *  # noqa: F403
from .settings import CACHES, CHANNEL_LAYERS, DATABASES, EMBEDDED

if EMBEDDED:
    raise RuntimeError(
        "tests run against the real PostgreSQL and Redis, never the embedded fallback"
    )

# Separate names per test process, so that two runs at once (or a dev server) never meet.
# Servers the tests start (tests/servers.py) inherit the run id and use the test database.
# Under pytest-xdist every worker inherits the controller's run id, so the worker's name is
# added; pytest-django adds it to the test database's name itself ("_gw0").
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
RUN_ID = os.environ.setdefault("CAPTIONS_TEST_RUN_ID", f"test{os.getpid()}")
DATABASES["default"]["TEST"] = {"NAME": f"test_meetings_{RUN_ID}"}
if os.environ.get("CAPTIONS_TEST_SERVER"):
    suffix = f"_{XDIST_WORKER}" if XDIST_WORKER else ""
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"]["NAME"] + suffix
RUN_ID += XDIST_WORKER
# Consumers query the database from worker threads; persistent connections would outlive the
# test database and block its teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"captions-{RUN_ID}"
REDIS_KEY_PREFIX = f"captions-{RUN_ID}"
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX
# Shared with the servers and workers the tests start, which inherit the run id.
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"captions-test-media-{RUN_ID}")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# tests stream recorded speech faster than real time
CAPTIONS_MAX_AUDIO_RATE = 50.0
CAPTIONS_AUDIO_BURST_SECONDS = 300
# many tests sign up from one address and upload as one user; the limits' own tests set low ones
SIGNUP_RATE_LIMIT = "1000/m"
UPLOAD_RATE_LIMIT = "1000/m"
# servers a test starts may ask for a lower limit
CAPTIONS_MAX_CONNECTIONS_PER_USER = int(os.environ.get("CAPTIONS_MAX_CONNECTIONS_PER_USER", "50"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# What the tests need, set here whatever the environment says. Like the local demo: DEBUG off,
# plain http (tests and their servers speak http://, except the one behind the HTTPS proxy of
# tests/test_front_proxy.py), static files straight from static/.
DEBUG = False
SECRET_KEY = "tests-only-not-a-secret"
if os.environ.get("HTTPS") != "1":
    SECURE_SSL_REDIRECT = False
    SESSION_COOKIE_SECURE = False
    CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0
WHITENOISE_USE_FINDERS = True

# Rooms in the test process caption with the scripted engine, unless a test asks for the real
# model (the `whisper` fixture of tests/conftest.py). The servers the tests start are told
# their engine in TRANSCRIPTION_ENGINE (tests/servers.py): the test process's own, by default.
if not os.environ.get("CAPTIONS_TEST_SERVER"):
    TRANSCRIPTION_ENGINE = "scripted"
