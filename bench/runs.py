"""The three measurements, on one stack: bare Kafka, the bare Kafka -> Celery hop, the paper pipeline.

Each section runs flat out (throughput), then at a paced offered load (latency away from saturation).
A one-message warm-up first pays the one-off costs (a new idempotent producer's first produce,
worker start, the bridge's group join, first connections) outside the figures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime

from alphapanda import envelope, kafka, redis_conn, topics
from bench import stats
from bench.load import (
    Load,
    TopicReader,
    create_topic,
    produce,
    repeated_events,
    signals,
    stamp,
    wait_for,
)
from bench.stack import Stack
from bench.tasks import SAMPLES

Say = Callable[[str], None]
WARM_UP_S = 60.0


def say_run(say: Say, section: str, run: str, figures: dict) -> None:
    lat = figures["latency_ms"]
    say(
        f"  {section:<9} {run:<12} {figures['messages']:>6} msgs {figures['per_s']:>9,.0f}/s   "
        f"p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f}  max {lat['max']:.1f} ms"
    )


def _worker(*options: str) -> list[str]:
    """A solo Celery worker on the paper queue, as `make run` starts one."""
    return [sys.executable, "-m", "celery", "-A", "alphapanda", "worker", "-Q", "paper", "--pool=solo",
            "--loglevel=WARNING", *options]  # fmt: skip


def bare_kafka(n: int, paced_n: int, rate: float, say: Say) -> dict:
    """Tansu alone, produced and read back in this process: the floor under everything else."""
    topic = "bench.kafka"
    create_topic(topic)
    producer = kafka.new_producer()
    received: list[tuple[int, int]] = []  # (sent, read) ns
    reader = TopicReader(topic, lambda msg: received.append((stamp(msg.value()), time.time_ns())))
    reader.start()

    def run(load: Load, offered: float | None) -> tuple[dict, float]:
        received.clear()
        first = produce(producer, topic, load, offered)
        produce_rate = stats.per_second(len(load), first, time.time_ns())
        wait_for(
            lambda: len(received),
            len(load),
            timeout=30 + len(load) / 1000,
            what="Kafka reads",
            checks=[reader.check],
        )
        last = max(read for _, read in received)
        figures = stats.run_figures(len(load), first, last, [read - sent for sent, read in received], offered)
        return figures, produce_rate

    try:
        run(signals(1, "warm-"), None)
        full, produce_rate = run(signals(n, "full-"), None)
        say_run(say, "kafka", "flat out", full)
        say(f"  kafka     produce      {n:>6} msgs {produce_rate:>9,.0f}/s   (until flushed)")
        consume_rate = _read_back(topic, 1 + n)
        say(
            f"  kafka     read back    {n:>6} msgs {consume_rate:>9,.0f}/s   (a new consumer, from the start)"
        )
        paced, _ = run(signals(paced_n, "paced-"), rate)
        say_run(say, "kafka", f"paced {rate:g}/s", paced)
    finally:
        reader.stop()
    return {
        "produce_per_s": produce_rate,
        "consume_per_s": consume_rate,
        "full": full,
        "paced": paced,
    }


def _read_back(topic: str, count: int) -> float:
    """Messages a second a fresh consumer reads a topic already in the log, first to last message."""
    times: list[int] = []
    reader = TopicReader(topic, lambda msg: times.append(time.time_ns()))
    reader.start()
    try:
        wait_for(
            lambda: len(times), count, timeout=30 + count / 1000, what="the read back", checks=[reader.check]
        )
    finally:
        reader.stop()
    return stats.per_second(count - 1, times[0], times[count - 1])


def bare_hop(stack: Stack, n: int, paced_n: int, rate: float, say: Say) -> dict:
    """Kafka -> consumer -> one `send_task` per message -> a no-op task: the ceiling for the pipeline."""
    from alphapanda.celery import app

    topic = "bench.hop"
    create_topic(topic)
    producer = kafka.new_producer()
    client = redis_conn.client()
    stack.start("worker-hop", _worker("--include", "bench.tasks", "--hostname", "bench-hop@%h"))
    reader = TopicReader(topic, lambda msg: app.send_task("bench.noop", (stamp(msg.value()),), queue="paper"))
    reader.start()

    def run(load: Load, offered: float | None, timeout: float) -> dict:
        client.delete(SAMPLES)
        first = produce(producer, topic, load, offered)
        wait_for(
            lambda: client.llen(SAMPLES),
            len(load),
            timeout=timeout,
            what="no-op tasks",
            checks=[stack.check_alive, reader.check],
            say=say,
        )
        pairs = [tuple(map(int, s.split())) for s in client.lrange(SAMPLES, 0, -1)]
        last = max(started for _, started in pairs)
        return stats.run_figures(len(load), first, last, [started - sent for sent, started in pairs], offered)

    try:
        run(signals(1, "warm-"), None, WARM_UP_S)
        full = run(signals(n, "full-"), None, 30 + n / 200)
        say_run(say, "bare hop", "flat out", full)
        paced = run(signals(paced_n, "paced-"), rate, 30 + paced_n / 200)
        say_run(say, "bare hop", f"paced {rate:g}/s", paced)
    finally:
        reader.stop()
        stack.stop("worker-hop")
        client.delete(SAMPLES)
    return {"full": full, "paced": paced}


def _epoch_ns(at: datetime) -> int:
    return round(at.timestamp() * 1e6) * 1000


def pipeline(stack: Stack, n: int, paced_n: int, rate: float, say: Say) -> dict:
    """Validated signals through the real bridge and worker until each fill is applied to the ledger.

    Each run's strategies share a prefix unique to the run, so its rows are counted apart from any
    others in the database; latency is from a signal's `ts_event` (its produce time, carried to the
    fill) to its fill's `AppliedFill.applied_at`.
    """
    from portfolio.models import AppliedFill
    from trading.models import Fill

    stack.start("worker-paper", _worker("--hostname", "paper@%h"))  # as alphapanda.pipeline starts them
    stack.start("bridge", [sys.executable, "manage.py", "run_bridge"])
    topic = topics.broker_topic("paper", topics.SIGNALS_VALIDATED)
    producer = kafka.new_producer()
    tag = envelope.new_id()[:6]

    def run(name: str, count: int, offered: float | None, timeout: float) -> dict:
        prefix = f"bench-{tag}-{name}-"
        first = produce(producer, topic, signals(count, prefix), offered)
        applied = AppliedFill.objects.filter(broker="paper", strategy__startswith=prefix)
        wait_for(
            applied.count,
            count,
            timeout=timeout,
            what="applied fills",
            checks=[stack.check_alive],
            say=say,
        )
        sent = dict(
            Fill.objects.filter(broker="paper", strategy__startswith=prefix).values_list(
                "fill_id", "ts_event"
            )
        )
        done = [
            (sent[fill_id], _epoch_ns(at)) for fill_id, at in applied.values_list("fill_id", "applied_at")
        ]
        last = max(at for _, at in done)
        return stats.run_figures(count, first, last, [at - ts for ts, at in done], offered)

    try:
        run("warm", 1, None, WARM_UP_S)
        full = run("full", n, None, 60 + n / 20)
        say_run(say, "pipeline", "flat out", full)
        paced = run("paced", paced_n, rate, 60 + paced_n / 20)
        say_run(say, "pipeline", f"paced {rate:g}/s", paced)
        repeated = repeated_events(topics.broker_topic("paper", topics.ORDERS_PLACED))
        say(f"  pipeline  signals executed again after a batch was sent again: {repeated}")
    finally:
        stack.stop("bridge", "worker-paper")
    return {"full": full, "paced": paced, "signals_executed_again": repeated}
