"""Django settings: everything comes from `alphapanda.config`, read once from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
import structlog

from alphapanda import config as _config
from alphapanda.log_redact import redact_secrets

CONFIG = _config.load()
BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = ["*"]
ACTIVE_BROKERS = CONFIG.active_brokers

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "alphapanda",
    "trading",
    "riskcheck",
    "portfolio",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "alphapanda.urls"
WSGI_APPLICATION = "alphapanda.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": environ.Env.db_url_config(CONFIG.database_url)}
# Long-lived workers keep a connection; health checks replace one the server dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "Asia/Kolkata"
LANGUAGE_CODE = "en-in"
STATIC_URL = "static/"
# Production collects static files into STATIC_ROOT (the Dockerfile does); locally WhiteNoise serves
# them straight from the apps' own static folders.
STATIC_ROOT = CONFIG.static_root or None
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "alphapanda.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Alpha Panda API",
    "DESCRIPTION": "Portfolios, orders, fills, signals, strategies and risk controls per broker.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CONFIG.redis_url,
        "KEY_PREFIX": "web",  # login throttles and the like: the web tier's own, no broker data
    }
}

REDIS_URL = CONFIG.redis_url
KAFKA_BOOTSTRAP = CONFIG.kafka_bootstrap

# Celery (read by alphapanda/celery.py with namespace="CELERY").
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = CONFIG.redis_url
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # completion goes to a Redis stream the bridge reads, not to results
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# WORKER_THREADS tasks at a time (1: the solo pool) and none held in reserve: a worker killed holds
# only the batches it runs, which the bridge sends again (a reserved, unstarted one would sit
# unacknowledged until the visibility timeout). Threads overlap one task's waits on PostgreSQL,
# Redis and Kafka with another's work (docs/performance.md).
CELERY_WORKER_POOL = "solo" if CONFIG.worker_threads == 1 else "threads"
CELERY_WORKER_CONCURRENCY = CONFIG.worker_threads
# Keep the worker's database connection across tasks: Celery's Django fix-up otherwise closes it before
# and after every task (a new PostgreSQL connection per batch: 11% of a worker's time under make run).
# Health checks (CONN_HEALTH_CHECKS) still replace one the server dropped.
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_DEFAULT_QUEUE = ACTIVE_BROKERS[0]
CELERY_TASK_CREATE_MISSING_QUEUES = False
# Kombu's Redis transport with its reconnect fixed: a channel closed under a threaded worker's running
# tasks raised AttributeError and stopped the worker (alphapanda/kombu_redis.py).
CELERY_BROKER_TRANSPORT = "alphapanda.kombu_redis:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# On a lost connection, let running tasks finish: they are idempotent, their completion reaches the
# bridge through Redis once it is back, and an ack that cannot be sent is logged (Celery 6's default
# would cancel them; setting it says so and silences the warning at every reconnect).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TIME_LIMIT = 120

# Structured logs through structlog's stdlib bridge: console for people, JSON for collectors.
# merge_contextvars adds what the message being handled bound (correlation_id, event_id, broker,
# stage: see batches.run_batch and run_strategies), so a chain can be followed from tick to fill.
_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_secrets,
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.dev.ConsoleRenderer(colors=False),
            "foreign_pre_chain": _PRE_CHAIN,
        },
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.processors.JSONRenderer(),
            "foreign_pre_chain": _PRE_CHAIN,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": CONFIG.log_format}},
    "root": {"handlers": ["console"], "level": CONFIG.log_level.upper()},
    "loggers": {
        "celery": {"level": "WARNING"},
        "kombu": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}
