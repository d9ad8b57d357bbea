"""One Redis client per process, from REDIS_URL."""

from __future__ import annotations

import os

import redis
from django.conf import settings

_client: tuple[int, redis.Redis] | None = None


def client() -> redis.Redis:
    global _client
    if _client is None or _client[0] != os.getpid():
        _client = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL, decode_responses=True))
    return _client[1]
