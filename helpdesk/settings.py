"""Earshot settings. The environment is the only source; README.md and .env.example list every variable."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from helpdesk.lib.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
DATA_DIR = Path(env_str("EARSHOT_DATA_DIR", str(BASE_DIR / "var"))).resolve()
with contextlib.suppress(
    OSError
):  # a read-only image with Postgres and Redis needs no data dir
    DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required (or SECRET_KEY_FILE). Set DEBUG=1 only for development."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Secrets at rest ------------------------------------------------------------------------
# Comma-separated Fernet keys: the first encrypts, all decrypt (key rotation).
_field_keys = [
    key.strip() for key in env_secret("FIELD_ENCRYPTION_KEY").split(",") if key.strip()
]
if not _field_keys:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is required: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    # Development only: derive a stable key from SECRET_KEY so the demo needs no extra setup.
    _field_keys = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]
FIELD_ENCRYPTION_KEYS: list[str] = _field_keys

# --- Applications ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "helpdesk.apps.HelpdeskConfig",
    "mentions",
    "mentions.sla",
    "mentions.escalation",
    "mentions.sandbox",
    "mentions.dashboard.apps.DashboardConfig",
    "responders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"

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
                "helpdesk.context_processors.earshot",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Unset DATABASE_URL -> the embedded SQLite database under EARSHOT_DATA_DIR.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'earshot.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Covering indexes (INCLUDE columns, for PostgreSQL's index-only scans) are plain indexes on SQLite:
    # the same rows, found a little slower. Not worth a warning on every command of the embedded default.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# Unset broker -> kombu's filesystem transport: an embedded broker that needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, str | int] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # A task unacknowledged this long is redelivered; longer than the slowest task we run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = (
    True  # a worker killed mid-task gets the task redelivered; tasks are idempotent
)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- X API ----------------------------------------------------------------------------------
# The real API by default; the demo and the tests point this at the sandbox X API.
X_API_BASE_URL = env_str("X_API_BASE_URL", "https://api.twitter.com").rstrip("/")
X_API_TIMEOUT = env_float("X_API_TIMEOUT", 10.0)
X_CLIENT_ID = env_str("X_CLIENT_ID")
X_CLIENT_SECRET = env_secret("X_CLIENT_SECRET")
X_DISPATCH_INTERVAL = env_float("X_DISPATCH_INTERVAL", 5.0)
X_POLL_LEASE_SECONDS = env_int("X_POLL_LEASE_SECONDS", 120, minimum=10)
X_MAX_BACKOFF_SECONDS = env_int("X_MAX_BACKOFF_SECONDS", 900, minimum=10)
X_MAX_PAGES_PER_TASK = env_int("X_MAX_PAGES_PER_TASK", 50, minimum=1)

# The sandbox X API: mounted only when enabled (the demo and the tests), never in production by default.
XSANDBOX_ENABLED = env_bool("XSANDBOX_ENABLED", False)

# --- Workspace, SLA and escalation -------------------------------------------------------------
# Seconds a queued public reply can be undone before it is released to the worker.
REPLY_UNDO_SECONDS = env_int("REPLY_UNDO_SECONDS", 10, minimum=0)
# Seconds an agent's "viewing / typing" presence lasts without a heartbeat.
PRESENCE_TTL_SECONDS = env_int("PRESENCE_TTL_SECONDS", 30, minimum=5)
# Seconds between two SLA / escalation sweeps (beat); the issue asks for at most 30.
SLA_SWEEP_INTERVAL = env_float("SLA_SWEEP_INTERVAL", 15.0)

# --- Email ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Earshot <earshot@localhost>")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and not env_str("EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)

# --- Auth -----------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "mentions:queue"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_HTTPS_PROXY") else None
)

# --- I18n, time -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
