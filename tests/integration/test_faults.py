"""Faults under steady load, on real processes: afterwards every stage matches its input log.

Each test runs feed -> strategies -> bridge -> risk -> trading -> portfolio with ticks flowing, injects
one fault while fills are being applied, waits for the pipeline to move on past it, stops the feed
and, once the pipeline is quiet, checks with `delivery_report` that no message was lost, no effect
doubled or reordered, and the ledger and the Redis portfolio equal what the fills log implies.
"""

from __future__ import annotations

import os
import threading

import pytest
from confluent_kafka import TopicPartition

from alphapanda import faults, infra, kafka, redis_conn, topics
from alphapanda.delivery_report import DeliveryReport, delivery_report
from alphapanda.delivery_table import render
from portfolio.models import AppliedFill
from tests.support.processes import Processes, wait_for
from trading.models import Strategy

pytestmark = pytest.mark.integration
SYMBOLS = ("RELIANCE", "INFY", "TCS", "HDFCBANK", "SBIN", "ITC")


def _strategies(instruments) -> None:
    tokens = [instruments[s].token for s in SYMBOLS]
    for name, kind, params in (
        ("fast-sma", "sma_crossover", {"fast": 2, "slow": 4}),
        ("fast-rsi", "rsi", {"period": 3, "oversold": 45, "overbought": 55}),
    ):
        strategy = Strategy.objects.create(name=name, kind=kind, params=params, brokers=["paper"])
        strategy.instruments.set(tokens)


def _start(processes: Processes) -> None:
    processes.worker(name="worker-a")
    processes.bridge()
    processes.strategies()
    processes.manage("feed", "run_feed", "--source", "sim", "--rate", "60", "--symbols", ",".join(SYMBOLS))


def _proc(processes: Processes, name: str):
    return next(p for p in processes.procs if p.name == name)


def _restart(processes: Processes, name: str, start) -> None:
    """kill -9 the process `name` and start its replacement."""
    proc = _proc(processes, name)
    faults.kill(proc.popen)
    processes.procs.remove(proc)
    start()


def _applied() -> int:
    return AppliedFill.objects.filter(broker="paper").count()


def _moves_on(more: int = 10, timeout: float = 90) -> None:
    start = _applied()
    wait_for(lambda: _applied() >= start + more, timeout=timeout, what=f"{more} more fills after the fault")


def _quiet_and_consistent(processes: Processes) -> DeliveryReport:
    """Stop the load, wait until every stage has caught up with its log, then stop everything."""
    for name in ("feed", "strategies"):
        processes.procs.remove(proc := _proc(processes, name))
        proc.popen.terminate()
        proc.popen.wait(10)
    last: list[DeliveryReport] = []

    def caught_up() -> bool:
        last[:] = [delivery_report(broker="paper")]
        return last[0].ok

    try:
        wait_for(caught_up, timeout=90, interval=1.0, what="every stage to match its log")
    except AssertionError:
        raise AssertionError(render(last)) from None
    processes.assert_alive()
    processes.stop()
    report = delivery_report(broker="paper")
    assert report.ok, render([report])
    return report


@pytest.fixture
def load(processes, instruments):
    """The pipeline running with fills already being applied."""
    processes.env["BRIDGE_BATCH_TIMEOUT_S"] = "5"  # a batch whose worker died is sent again after 5 s
    _strategies(instruments)
    _start(processes)
    wait_for(lambda: _applied() >= 10, timeout=90, what="the first fills")
    return processes


def test_worker_killed_mid_task_then_its_batch_runs_again_once(load) -> None:
    for _ in range(2):
        _restart(load, "worker-a", lambda: load.worker(name="worker-a"))
        _moves_on()
    report = _quiet_and_consistent(load)
    assert report.portfolio.fills >= 30


def _committed(group: str, topic: str) -> int:
    """How far `group` has committed in `topic`, summed over partitions (without joining the group)."""
    consumer = kafka.consumer(group)
    try:
        parts = consumer.committed([TopicPartition(topic, p) for p in range(topics.PARTITIONS)], timeout=10)
        return sum(max(0, tp.offset) for tp in parts)
    finally:
        consumer.close()


def test_strategy_runner_killed_then_replayed_ticks_change_nothing_twice(load) -> None:
    wait_for(lambda: _committed("alphapanda-strategies", topics.MARKET_TICKS) >= 100, timeout=30,
             what="the runner to commit its place in market.ticks")  # fmt: skip
    _restart(load, "strategies", load.strategies)
    _moves_on()
    _restart(load, "strategies", load.strategies)
    _moves_on()
    report = _quiet_and_consistent(load)
    assert report.stages[0].effects >= 20, "risk decided the signals of every runner's life"


def test_postgres_connections_dropped_then_tasks_reconnect_and_retry(load) -> None:
    dropped = 0
    for _ in range(3):
        dropped += faults.drop_database_connections()
        _moves_on(5)
    assert dropped >= 3, "the worker and the runner held connections that were dropped"
    _quiet_and_consistent(load)


def test_kafka_frozen_for_30s_then_everything_resumes(load, kafka_service) -> None:
    before = _applied()
    faults.freeze(kafka_service.pid, 30)
    _moves_on(timeout=120)
    load.assert_alive()
    report = _quiet_and_consistent(load)
    assert report.portfolio.fills > before


def _proc_log(processes: Processes, name: str) -> str:
    return (processes.out_dir / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def private_redis(out_dir, settings):
    """A redis-server of this test's own, so it can be restarted for real (the machine's is shared)."""
    service = infra.start_redis(out_dir)
    settings.REDIS_URL = service.url
    redis_conn._client = None
    holder = {"service": service}
    yield holder
    holder["service"].stop()
    redis_conn._client = None


def test_redis_restarted_empty_then_queued_tasks_are_resent_and_the_read_model_rebuilt(
    private_redis, transactional_db, instruments, kafka_topics, out_dir, settings
) -> None:
    from tests.support.processes import database_url

    port = int(private_redis["service"].url.rsplit(":", 1)[1].split("/")[0])
    # A threaded worker: its running tasks hold unacknowledged messages as Redis goes (kombu_redis.py).
    env = dict(os.environ, DATABASE_URL=database_url(), KAFKA_BOOTSTRAP=kafka_topics,
               REDIS_URL=private_redis["service"].url, ACTIVE_BROKERS="paper", PAPER_SLIPPAGE_BPS="5",
               LOG_LEVEL="info", BRIDGE_BATCH_TIMEOUT_S="5", WORKER_THREADS="4")  # fmt: skip
    processes = Processes(env, out_dir)
    try:
        _strategies(instruments)
        _start(processes)
        wait_for(lambda: _applied() >= 10, timeout=90, what="the first fills")
        for _ in range(2):
            private_redis["service"].stop()  # everything in it is gone: queued tasks, streams, read model
            private_redis["service"] = infra.start_redis(out_dir, port=port)
            redis_conn._client = None
            _moves_on(timeout=60)
        report = _quiet_and_consistent(processes)
        assert report.portfolio.fills >= 30
        assert "Redis restarted: sending" in _proc_log(processes, "bridge")
    finally:
        took = processes.stop()
        assert all(t <= 10 for t in took.values()), took


def test_freeze_always_resumes_the_process_even_when_interrupted() -> None:
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        faults.freeze(proc.pid, 30, stop)
        assert time.monotonic() - started < 5
        with open(f"/proc/{proc.pid}/stat") as stat:
            assert stat.read().split()[2] != "T", "the process is running again, not stopped"
    finally:
        proc.kill()
        proc.wait()
