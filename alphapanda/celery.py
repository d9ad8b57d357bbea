"""The Celery app `alphapanda`: one queue per active broker, named after it."""

from __future__ import annotations

import os
import sys

from celery import Celery
from celery.signals import worker_ready
from kombu import Exchange, Queue

from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.config import ConfigError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphapanda.settings")

app = Celery("alphapanda")
try:
    app.config_from_object("django.conf:settings", namespace="CELERY")
    from django.conf import settings

    settings.ACTIVE_BROKERS  # noqa: B018 - validate the configuration now, not in the first task
    # Every known broker has its queue, so `worker -Q paper,zerodha` always starts; only the bridge
    # decides what reaches a queue, and it routes to active brokers only.
    app.conf.task_queues = [Queue(b, Exchange(b, type="direct"), routing_key=b) for b in KNOWN_BROKERS]
except ConfigError as exc:  # one clear line, not a traceback
    sys.exit(f"alphapanda: configuration error: {exc}")
app.autodiscover_tasks()


@worker_ready.connect
def worker_started(**kwargs) -> None:
    """A worker serves its metrics on METRICS_PORT (0: off) and settles its collector. Tasks run in
    this process with the solo (or threads) pool every worker here uses; a prefork pool's children
    would need prometheus-client's multiprocess mode, which is not set up."""
    from alphapanda import process

    process.started("worker")
