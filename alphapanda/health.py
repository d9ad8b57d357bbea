"""Readiness checks: the database, Redis, Kafka, and a Celery worker answering for each broker queue."""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.db import connection

from alphapanda import redis_conn


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    redis_conn.client().ping()
    return "ok"


def _kafka() -> str:
    topics = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP}).list_topics(timeout=2).topics
    return f"ok ({len(topics)} topics)"


def queue_workers(timeout: float = 1.0) -> dict[str, list[str]]:
    """Workers that answered, by the broker queues they consume."""
    from alphapanda.celery import app

    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    by_queue: dict[str, list[str]] = {b: [] for b in settings.ACTIVE_BROKERS}
    for worker, queues in replies.items():
        for queue in queues:
            if queue["name"] in by_queue:
                by_queue[queue["name"]].append(worker)
    return by_queue


def _check(fn: Callable[[], str]) -> dict:
    started = time.monotonic()
    try:
        detail, ok = fn(), True
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}


def readiness() -> dict:
    checks = {"database": _check(_database), "redis": _check(_redis), "kafka": _check(_kafka)}
    workers = _check(lambda: queue_workers())
    if workers["ok"]:
        found = workers["detail"]
        for broker, names in found.items():
            checks[f"workers:{broker}"] = {
                "ok": bool(names),
                "detail": names or "no worker consumes this queue",
            }
    else:
        checks["workers"] = workers
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}
