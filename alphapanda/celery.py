"""The Celery app `alphapanda`: one queue per active broker, named after it."""

from __future__ import annotations

import os
import sys

from celery import Celery
from kombu import Queue

from alphapanda.config import ConfigError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphapanda.settings")

app = Celery("alphapanda")
try:
    app.config_from_object("django.conf:settings", namespace="CELERY")
    from django.conf import settings

    app.conf.task_queues = [Queue(broker, routing_key=broker) for broker in settings.ACTIVE_BROKERS]
except ConfigError as exc:  # one clear line, not a traceback
    sys.exit(f"alphapanda: configuration error: {exc}")
app.autodiscover_tasks()
