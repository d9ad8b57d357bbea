"""The management commands as an operator runs them: one clear line on bad configuration,
idempotent topic creation, and the market feed from the simulator and from a recording."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from alphapanda import envelope, topics
from alphapanda.log_reader import read_values
from tests.support.processes import ROOT, database_url
from trading.instruments import SHIPPED_INSTRUMENTS

pytestmark = pytest.mark.integration
SAMPLE = SHIPPED_INSTRUMENTS.parent / "sample_ticks.csv"


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ACTIVE_BROKERS": "paper,robinhood"}, "unknown broker 'robinhood' in ACTIVE_BROKERS"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL='mysql://x/y' is not a valid URL"),
        ({"REDIS_URL": "redis://h:port/0"}, "REDIS_URL='redis://h:port/0' has a malformed port"),
        ({"KAFKA_BOOTSTRAP": "localhost"}, "KAFKA_BOOTSTRAP='localhost' is not a host:port list"),
    ],
)
@pytest.mark.parametrize("program", ["manage", "celery"])
def test_bad_configuration_stops_with_one_clear_line(program, env, expected):
    argv = (
        ("manage.py", "check")
        if program == "manage"
        else ("-m", "celery", "-A", "alphapanda", "inspect", "ping")
    )
    result = _run(*argv, **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"alphapanda: configuration error: {expected}" + lines[0].split(expected, 1)[1]], lines
    assert "Traceback" not in result.stderr


def test_create_topics_is_idempotent_and_creates_only_active_brokers_topics(kafka_bootstrap):
    first, second = io.StringIO(), io.StringIO()
    call_command("create_topics", stdout=first)
    call_command("create_topics", stdout=second)
    expected = {t.name for t in topics.all_topics(("paper",))}
    assert f"{len(expected)} topics created, 0 already present" in first.getvalue()
    assert f"0 topics created, {len(expected)} already present" in second.getvalue()
    from alphapanda.kafka import list_topics

    assert expected <= list_topics() and not {t for t in list_topics() if t.startswith("zerodha")}


def _ticks_published(*args: str, bootstrap: str) -> list:
    result = _run("manage.py", "run_feed", *args, KAFKA_BOOTSTRAP=bootstrap, DATABASE_URL=database_url())
    assert result.returncode == 0, result.stderr
    return [envelope.decode(topics.MARKET_TICKS, v).payload for v in read_values(topics.MARKET_TICKS)]


def test_sim_feed_is_seeded_and_prices_respect_tick_size(kafka_topics, instruments):
    args = ("--source", "sim", "--count", "60", "--rate", "0", "--seed", "9", "--symbols", "SBIN,INFY,TCS")
    first = _ticks_published(*args, bootstrap=kafka_topics)
    between = time.time_ns()
    second = [t for t in _ticks_published(*args, bootstrap=kafka_topics) if t.ts > between]
    assert len(first) == len(second) == 60

    def prices(ticks):
        ordered = sorted(ticks, key=lambda t: (t.instrument_token, t.ts))
        return [(t.instrument_token, t.ltp, t.bids, t.asks) for t in ordered]

    assert prices(first) == prices(second), "the same seed gives the same prices"
    assert {t.symbol for t in first} == {"SBIN", "INFY", "TCS"}
    for tick in first:
        size = instruments[tick.symbol].tick_size
        assert tick.ltp % size == 0 and all(level.price % size == 0 for level in tick.bids + tick.asks)
        assert tick.bids[0].price < tick.asks[0].price


def test_csv_feed_replays_a_recording_and_reports_a_missing_file(kafka_topics, instruments):
    ticks = _ticks_published("--source", "csv", "--file", str(SAMPLE), "--speed", "0", bootstrap=kafka_topics)
    rows = SAMPLE.read_text().strip().splitlines()[1:]
    assert len(ticks) == len(rows)
    first = rows[0].split(",")
    assert any(str(t.instrument_token) == first[1] and str(t.ltp) == first[2] for t in ticks)
    missing = _run(
        "manage.py",
        "run_feed",
        "--source",
        "csv",
        "--file",
        "/nonexistent.csv",
        KAFKA_BOOTSTRAP=kafka_topics,
    )
    assert missing.returncode != 0 and "no such file: /nonexistent.csv" in missing.stderr
