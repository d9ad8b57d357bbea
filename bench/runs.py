"""The ceilings, on the bench's stack: bare Kafka, and the bare Kafka -> Celery hop to a no-op task,
one task per message and one task per polled partition batch (as the bridge sends them).

Each runs flat out (throughput), then at a paced offered load (latency away from saturation).
A one-message warm-up first pays the one-off costs (a new idempotent producer's first produce,
worker start, the bridge's group join, first connections) outside the figures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from itertools import groupby

from confluent_kafka import Message, Producer

from alphapanda import kafka, redis_conn
from bench import stats
from bench.load import (
    Load,
    TopicReader,
    create_topic,
    produce,
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
        f"  {section:<13} {run:<12} {figures['messages']:>6} msgs {figures['per_s']:>9,.0f}/s   "
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
    reader = TopicReader(
        topic, lambda batch: received.extend((stamp(msg.value()), time.time_ns()) for msg in batch)
    )
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
        say(f"  kafka         produce      {n:>6} msgs {produce_rate:>9,.0f}/s   (until flushed)")
        consume_rate = _read_back(topic, 1 + n)
        say(
            f"  kafka         read back    {n:>6} msgs {consume_rate:>9,.0f}/s   (a new consumer, from the start)"
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
    reader = TopicReader(topic, lambda batch: times.extend(time.time_ns() for _ in batch))
    reader.start()
    try:
        wait_for(
            lambda: len(times), count, timeout=30 + count / 1000, what="the read back", checks=[reader.check]
        )
    finally:
        reader.stop()
    return stats.per_second(count - 1, times[0], times[count - 1])


def _send_each(batch: list[Message]) -> None:
    from alphapanda.celery import app

    for msg in batch:
        app.send_task("bench.noop", (stamp(msg.value()),), queue="paper")


def _send_batched(batch: list[Message]) -> None:
    """One task per partition's share of the poll, as the bridge sends one batch per partition."""
    from alphapanda.celery import app

    for _, msgs in groupby(sorted(batch, key=Message.partition), key=Message.partition):
        app.send_task("bench.noop_batch", ([stamp(m.value()) for m in msgs],), queue="paper")


def _hop_run(
    stack: Stack, producer: Producer, reader: TopicReader, load: Load, offered: float | None, say: Say
) -> dict:
    """Produce `load` to the reader's topic and wait for a no-op task sample of every message."""
    client = redis_conn.client()
    client.delete(SAMPLES)
    first = produce(producer, reader.topic, load, offered)
    wait_for(
        lambda: client.llen(SAMPLES),
        len(load),
        timeout=WARM_UP_S + len(load) / 200,
        what="no-op tasks",
        checks=[stack.check_alive, reader.check],
        say=say,
    )
    pairs = [tuple(map(int, s.split())) for s in client.lrange(SAMPLES, 0, -1)]
    last = max(started for _, started in pairs)
    return stats.run_figures(len(load), first, last, [started - sent for sent, started in pairs], offered)


def bare_hop(stack: Stack, n: int, paced_n: int, rate: float, say: Say) -> dict:
    """Kafka -> consumer -> `send_task` -> a no-op task on one solo worker: the pipeline's ceiling,
    one task per message (unbatched) and one per partition batch (batched)."""
    stack.start("worker-hop", _worker("--include", "bench.tasks", "--hostname", "bench-hop@%h"))
    producer = kafka.new_producer()
    results = {}
    try:
        for name, send in (("unbatched", _send_each), ("batched", _send_batched)):
            topic = f"bench.hop.{name}"
            create_topic(topic)
            reader = TopicReader(topic, send)
            reader.start()
            try:
                _hop_run(stack, producer, reader, signals(1, "warm-"), None, say)
                full = _hop_run(stack, producer, reader, signals(n, "full-"), None, say)
                say_run(say, f"hop {name}", "flat out", full)
                paced = _hop_run(stack, producer, reader, signals(paced_n, "paced-"), rate, say)
                say_run(say, f"hop {name}", f"paced {rate:g}/s", paced)
            finally:
                reader.stop()
            results[name] = {"full": full, "paced": paced}
    finally:
        stack.stop("worker-hop")
        redis_conn.client().delete(SAMPLES)
    return results
