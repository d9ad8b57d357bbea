"""A tool's run (the bench, chaos, the stage profile, `make run`) starts from an empty ledger and no
broker keys, so no run inherits or measures the last one's rows."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from alphapanda import infra, redis_conn
from trading.kite.ratelimit import OrderRateLimiter


@pytest.fixture
def server_url(db) -> str:
    """The test database's server, as a configured DATABASE_URL would name a database on it."""
    params = connection.get_connection_params()
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def test_a_fresh_database_beside_a_configured_one_is_new_each_time(server_url, tmp_path) -> None:
    url, service = infra.fresh_database(server_url, tmp_path, "freshtest")
    try:
        assert service is None and url == f"{server_url}_freshtest"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE left_behind (id int)")

        assert infra.fresh_database(server_url, tmp_path, "freshtest")[0] == url
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('left_behind')").fetchone() == (None,)
    finally:
        with psycopg.connect(server_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_clearing_a_broker_takes_its_keys_and_queue_and_leaves_the_other_broker(clean_redis) -> None:
    clean_redis.hset("paper:portfolio:account", "state", "{}")
    clean_redis.xadd("paper:bridge:done", {"batch": "1"})
    clean_redis.rpush("paper", "a task")
    clean_redis.hset("zerodha:portfolio:account", "state", "{}")
    clean_redis.rpush("zerodha", "a task")

    redis_conn.brokers_clear(["paper"])

    assert sorted(clean_redis.keys("*")) == ["zerodha", "zerodha:portfolio:account"]


def test_clearing_zerodha_starts_its_order_count_again(clean_redis) -> None:
    limiter = OrderRateLimiter(settings.REDIS_URL, broker="zerodha", per_day=5)
    limiter.acquire()
    assert limiter.headroom()["day"] == 4
    assert clean_redis.keys("*") and all(key.startswith("zerodha:") for key in clean_redis.keys("*"))

    redis_conn.brokers_clear(["zerodha"])

    assert limiter.headroom()["day"] == 5
