"""One Redis client per process, from REDIS_URL."""

from __future__ import annotations

import os
from collections.abc import Iterable

import redis
from django.conf import settings

_client: tuple[int, redis.Redis] | None = None


def client() -> redis.Redis:
    global _client
    if _client is None or _client[0] != os.getpid():
        _client = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL, decode_responses=True))
    return _client[1]


def brokers_clear(brokers: Iterable[str]) -> None:
    """Every key of these brokers (`<broker>:*`: read model, completion streams, rate limiter) and
    their Celery queues: for a run that starts a new, empty ledger (`make run`, the bench)."""
    redis_client = client()
    for broker in brokers:
        redis_client.delete(*redis_client.scan_iter(f"{broker}:*"), broker)
