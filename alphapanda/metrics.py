"""Every Prometheus metric the pipeline exports, defined once, with cheap pre-bound hooks.

Names start with `alphapanda_`. Labels are bounded by design: `broker` (an active broker, or `shared`
for market data), `stage` (a code constant: feed, strategies, bridge, ticks, riskcheck, trading,
portfolio, kite-updates), `topic` (broker x stream, a few dozen at most), `partition` (4 per topic)
and `consumer`. Never an instrument, a strategy or an event id.

Counters count what a process did, so a redelivered batch (at-least-once) counts again.
Latency is measured per message against two clocks of its envelope: `ts_produce` (the hop into
this stage: queueing and transport) and `ts_event` (the age since the tick that started the chain).

Hooks cache their label children: `labels()` takes a lock and builds a tuple each call, which adds
up at thousands of messages a second. A child is created once per (broker, stage[, topic]).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import start_http_server as _start_http_server

from alphapanda import topics

log = logging.getLogger(__name__)

# `_created` timestamps would double the series for nothing Prometheus' rate() needs.
disable_created_metrics()

SHARED = "shared"  # the broker label of market data, which every broker shares
OFFSET_INVALID = -1001  # librdkafka's "no offset known"

# Seconds, 1 ms to 10 s: a local hop is a few ms, a loaded pipeline tens to hundreds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)

MESSAGES_IN = Counter(
    "alphapanda_messages_in", "Messages a stage received (valid or not).", ["broker", "stage", "topic"]
)
MESSAGES_OUT = Counter(
    "alphapanda_messages_out", "Messages a stage published or dispatched.", ["broker", "stage", "topic"]
)
DEAD_LETTERS = Counter(
    "alphapanda_dead_letters", "Messages sent to a DLQ, by the stage that refused them.", ["broker", "stage"]
)
REJECTED = Counter(
    "alphapanda_rejected",
    "Signals the risk check rejected (signals.rejected) and orders that failed (orders.failed).",
    ["broker", "stage"],
)
ORDERS = Counter("alphapanda_orders", "Orders placed (orders.placed events published).", ["broker"])
FILLS = Counter("alphapanda_fills", "Fills (orders.filled events published).", ["broker"])
STAGE_LATENCY = Histogram(
    "alphapanda_stage_latency_seconds",
    "From the message's ts_produce to the moment this stage handles it (the hop into the stage).",
    ["broker", "stage"],
    buckets=LATENCY_BUCKETS,
)
EVENT_AGE = Histogram(
    "alphapanda_event_age_seconds",
    "From the message's ts_event (the tick that started its chain) to the moment this stage handles it.",
    ["broker", "stage"],
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "alphapanda_batch_size",
    "Records per batch a worker ran.",
    ["broker", "stage"],
    buckets=BATCH_SIZE_BUCKETS,
)
BATCH_DURATION = Histogram(
    "alphapanda_batch_duration_seconds",
    "Wall time of one batch in a worker, from start to completion reported.",
    ["broker", "stage"],
    buckets=DURATION_BUCKETS,
)
BATCH_RETRIES = Counter(
    "alphapanda_batch_retries", "Batches retried after an infrastructure error.", ["broker", "stage"]
)
CONSUMER_LAG = Gauge(
    "alphapanda_consumer_lag",
    "High watermark minus the consumer's position (messages not yet read). Unreliable on Tansu.",
    ["consumer", "topic", "partition"],
)
BRIDGE_BUFFERED = Gauge(
    "alphapanda_bridge_buffered", "Messages the bridge holds, read but not yet dispatched.", ["topic"]
)
BRIDGE_IN_FLIGHT = Gauge(
    "alphapanda_bridge_in_flight_batches", "Batches dispatched to Celery and not yet complete."
)
BRIDGE_PAUSED = Gauge("alphapanda_bridge_paused_partitions", "Partitions paused for back-pressure.")
BRIDGE_COMMITTED = Counter(
    "alphapanda_bridge_committed", "Messages whose offsets the bridge committed after completion.", ["topic"]
)
BRIDGE_RESENT = Counter(
    "alphapanda_bridge_resent_batches", "Batches sent again (timed out, or the task queue was lost)."
)
KITE_HEADROOM = Gauge(
    "alphapanda_kite_ratelimit_remaining",
    "Orders left in Kite's rate-limit windows (second, minute, day).",
    ["broker", "window"],
)
KITE_WAITS = Counter(
    "alphapanda_kite_ratelimit_waits", "Sleeps an order spent waiting for a rate-limit window.", ["broker"]
)

# Every metric family this module defines (for checks that dashboards refer to real names).
FAMILIES: tuple[Any, ...] = (
    MESSAGES_IN,
    MESSAGES_OUT,
    DEAD_LETTERS,
    REJECTED,
    ORDERS,
    FILLS,
    STAGE_LATENCY,
    EVENT_AGE,
    BATCH_SIZE,
    BATCH_DURATION,
    BATCH_RETRIES,
    CONSUMER_LAG,
    BRIDGE_BUFFERED,
    BRIDGE_IN_FLIGHT,
    BRIDGE_PAUSED,
    BRIDGE_COMMITTED,
    BRIDGE_RESENT,
    KITE_HEADROOM,
    KITE_WAITS,
)

_ORDERS_PLACED_STREAMS = frozenset({topics.ORDERS_PLACED})
_FILLED_STREAMS = frozenset({topics.ORDERS_FILLED})
_REJECTED_STREAMS = frozenset({topics.SIGNALS_REJECTED, topics.ORDERS_FAILED})


def series_names() -> set[str]:
    """Every sample name these families can expose (with _total, _bucket, _sum, _count suffixes)."""
    names: set[str] = set()
    for family in FAMILIES:
        for metric in family.describe():
            names.add(metric.name)
            if metric.type == "counter":
                names.add(metric.name + "_total")
            elif metric.type == "histogram":
                names.update(metric.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def broker_label(topic: str) -> str:
    return topics.broker_of(topic) or SHARED


def seconds_since(ns: int, now_ns: int) -> float:
    """Seconds from an envelope clock to now; never negative (clocks of two hosts may disagree)."""
    return max(0, now_ns - ns) / 1e9


# -- pre-bound children ---------------------------------------------------------------------------
class Stage:
    """One (broker, stage)'s children, bound once: what a hot loop touches per message."""

    __slots__ = ("age", "batch_duration", "batch_retries", "batch_size", "broker", "latency", "stage")

    def __init__(self, broker: str, stage: str) -> None:
        self.broker = broker
        self.stage = stage
        self.latency = STAGE_LATENCY.labels(broker, stage)
        self.age = EVENT_AGE.labels(broker, stage)
        self.batch_size = BATCH_SIZE.labels(broker, stage)
        self.batch_duration = BATCH_DURATION.labels(broker, stage)
        self.batch_retries = BATCH_RETRIES.labels(broker, stage)

    def observe(self, ts_produce: int, ts_event: int, now_ns: int) -> None:
        self.latency.observe(max(0, now_ns - ts_produce) / 1e9)
        self.age.observe(max(0, now_ns - ts_event) / 1e9)


@cache
def stage(broker: str, stage: str) -> Stage:
    return Stage(broker, stage)


@cache
def messages_in(broker: str, stage: str, topic: str) -> Any:
    return MESSAGES_IN.labels(broker, stage, topic)


@cache
def messages_out(broker: str, stage: str, topic: str) -> Any:
    return MESSAGES_OUT.labels(broker, stage, topic)


@cache
def topic_stage(topic: str, stage_: str) -> Stage:
    """The stage children for a topic's broker (market data: `shared`)."""
    return stage(broker_label(topic), stage_)


@cache
def committed(topic: str) -> Any:
    return BRIDGE_COMMITTED.labels(topic)


@cache
def dead_letters(broker: str, stage: str) -> Any:
    return DEAD_LETTERS.labels(broker, stage)


@cache
def _rejected(broker: str, stage: str) -> Any:
    return REJECTED.labels(broker, stage)


@cache
def _orders(broker: str) -> Any:
    return ORDERS.labels(broker)


@cache
def _fills(broker: str) -> Any:
    return FILLS.labels(broker)


def count_outputs(stage: str, per_topic: Mapping[str, int]) -> None:
    """A stage published `per_topic` messages: count them, and the orders, fills and rejections, each
    under its topic's broker."""
    for topic, n in per_topic.items():
        broker = broker_label(topic)
        messages_out(broker, stage, topic).inc(n)
        stream = topics.stream_of(topic)
        if stream in _ORDERS_PLACED_STREAMS:
            _orders(broker).inc(n)
        elif stream in _FILLED_STREAMS:
            _fills(broker).inc(n)
        elif stream in _REJECTED_STREAMS:
            _rejected(broker, stage).inc(n)


def dead_lettered(topic: str, stage: str) -> None:
    dead_letters(broker_label(topic), stage).inc()


# -- consumer lag -----------------------------------------------------------------------------------
class _Partition(Protocol):
    topic: str
    partition: int
    offset: int


class _Consumer(Protocol):
    def assignment(self) -> list[Any]: ...
    def position(self, partitions: list[Any]) -> list[Any]: ...
    def get_watermark_offsets(self, partition: Any, timeout: float = ..., cached: bool = ...) -> Any: ...


def lag(high: int, position: int) -> int | None:
    """Messages behind, or None when either end is unknown (nothing fetched or read yet)."""
    if high < 0 or position < 0:
        return None
    return max(0, high - position)


def update_consumer_lag(name: str, consumer: _Consumer) -> None:
    """Set the lag gauge of every assigned partition from the cached high watermark (refreshed by
    each fetch, so no broker round trip) and the consumer's position. Tansu's watermarks are not
    faithful (see log_reader.py), so there the figure may read oddly; the bridge's buffered gauge
    is the reliable complement."""
    try:
        positions = consumer.position(consumer.assignment())
    except Exception as exc:  # a consumer mid-rebalance or closed: try again next time
        log.debug("lag not updated: %s", exc)
        return
    for tp in positions:
        try:
            _, high = consumer.get_watermark_offsets(tp, cached=True)
        except Exception:
            continue
        behind = lag(high, tp.offset)
        if behind is not None:
            CONSUMER_LAG.labels(name, tp.topic, str(tp.partition)).set(behind)


def set_buffered(names: Iterable[str], per_topic: Iterable[tuple[str, int]]) -> None:
    """The bridge's buffered counts per topic (summed over partitions); 0 for a topic with none held."""
    totals = dict.fromkeys(names, 0)
    for topic, n in per_topic:
        totals[topic] = totals.get(topic, 0) + n
    for topic, n in totals.items():
        BRIDGE_BUFFERED.labels(topic).set(n)


# -- exposure ---------------------------------------------------------------------------------------
_served: dict[str, int] = {}
_serve_lock = threading.Lock()


def serve(port: int, addr: str, process: str) -> int | None:
    """Serve this process's metrics on `addr:port` (0: off). Once per process; a port that is taken
    is logged, not fatal: trading goes on without metrics."""
    if port <= 0:
        return None
    with _serve_lock:
        if process in _served:
            return _served[process]
        try:
            _start_http_server(port, addr=addr)
        except OSError as exc:
            log.error("%s: metrics not served on %s:%d: %s", process, addr, port, exc)
            return None
        _served[process] = port
    log.info("%s: metrics on http://%s:%d/metrics", process, addr, port)
    return port


def exposition() -> tuple[bytes, str]:
    """The text format of this process's registry, and its content type (for the web's view)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
