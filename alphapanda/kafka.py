"""Kafka client settings and the per-process producer, tuned for latency on a local broker.

`fetch.wait.max.ms` is low (`KAFKA_FETCH_WAIT_MS`, 10) because Tansu does not answer a waiting fetch
early (the default 500 ms gives p50 ~130 ms); the session timeout is 6 s so a group join takes ~3 s, not 20.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

from alphapanda import envelope, topics

log = logging.getLogger(__name__)

CONSUMER_DEFAULTS = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1000,
    "allow.auto.create.topics": False,
}
PRODUCER_DEFAULTS = {
    "enable.idempotence": True,
    "linger.ms": 1,
    "compression.type": "none",
}


def bootstrap() -> str:
    return settings.KAFKA_BOOTSTRAP


def consumer_config(group: str, **overrides: object) -> dict[str, object]:
    return {
        "bootstrap.servers": bootstrap(),
        "group.id": group,
        "fetch.wait.max.ms": settings.CONFIG.kafka_fetch_wait_ms,
        **CONSUMER_DEFAULTS,
        **overrides,
    }


def consumer(group: str, **overrides: object) -> Consumer:
    return Consumer(consumer_config(group, **overrides))


def new_producer(**overrides: object) -> Producer:
    return Producer({"bootstrap.servers": bootstrap(), **PRODUCER_DEFAULTS, **overrides})


READY_STATS_MS = 50  # how often librdkafka reports its state: how soon readiness is seen


def ready_producer(timeout: float = 10.0) -> Producer:
    """A producer whose idempotent session is set up before its first message is stamped.

    librdkafka asks for a producer id only once it has a connection, and tries again 500 ms later:
    a fresh producer held its first messages for 503 ms on Tansu, which the ticks' `ts_produce`
    counted as transit (the tick -> signal p99 of every bench step). The state is read from the
    client's statistics (`eos.idemp_state`); past `timeout` it warns and goes on, messages waiting.
    """
    ready = False

    def on_stats(raw: str) -> None:
        nonlocal ready
        if not ready:
            ready = json.loads(raw).get("eos", {}).get("idemp_state") == "Assigned"

    producer = new_producer(**{"statistics.interval.ms": READY_STATS_MS, "stats_cb": on_stats})
    deadline = time.monotonic() + timeout
    while not ready and time.monotonic() < deadline:
        producer.poll(READY_STATS_MS / 1000)
    if not ready:
        log.warning(
            "Kafka at %s: producer not ready after %gs; its messages wait until it is", bootstrap(), timeout
        )
    return producer


_producer: tuple[tuple[int, str], Producer] | None = None
_producer_lock = threading.Lock()  # a threaded worker's tasks share the one producer


def producer() -> Producer:
    """One producer per process and cluster (re-made after a fork, as in a prefork Celery child)."""
    global _producer
    owner = (os.getpid(), bootstrap())
    with _producer_lock:
        if _producer is None or _producer[0] != owner:
            _producer = (owner, new_producer())
    return _producer[1]


def close_producer(timeout: float = 5.0) -> None:
    """Flush and drop this process's producer (its cluster is going away)."""
    global _producer
    if _producer is not None:
        _producer[1].flush(timeout)
        _producer = None


def _on_delivery(err: KafkaError | None, msg: Message) -> None:
    if err is not None:
        log.error("delivery to %s failed: %s", msg.topic(), err)
        raise KafkaException(err)


def produce(
    producer_: Producer, topic: str, key: bytes | None, value: bytes, on_delivery=_on_delivery
) -> None:
    """Queue one message, waiting for buffer space rather than dropping it."""
    while True:
        try:
            producer_.produce(topic, value=value, key=key, on_delivery=on_delivery)
            producer_.poll(0)
            return
        except BufferError:
            producer_.poll(0.05)


def produce_all(producer_: Producer, messages: Sequence[tuple[str, bytes | None, bytes]]) -> dict[str, int]:
    """Queue already encoded (topic, key, value) messages back to back; how many went to each topic.

    Encoded first and produced together, a batch's messages leave as a few large requests: produced
    one by one as they were computed, `linger.ms=1` sent a request a millisecond, and Tansu's cost
    grows with the batches it holds (docs/performance.md)."""
    per_topic: dict[str, int] = {}
    for topic, key, value in messages:
        produce(producer_, topic, key, value)
        per_topic[topic] = per_topic.get(topic, 0) + 1
    return per_topic


def publish(producer_: Producer, topic: str, key: bytes | None, env: envelope.Envelope) -> None:
    produce(producer_, topic, key, envelope.encode(env))


def flush(producer_: Producer, timeout: float = 30.0) -> None:
    """Block until every queued message is acknowledged; raise if any is still pending."""
    remaining = producer_.flush(timeout)
    if remaining:
        raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, f"{remaining} messages not delivered"))


def next_offsets(messages: Iterable[Message]) -> list[TopicPartition]:
    """What to commit after handling `messages`: each partition's offset past its last message.

    Explicit, because with `enable.auto.offset.store` off a bare `commit()` has nothing stored to commit.
    """
    after: dict[tuple[str, int], int] = {}
    for msg in messages:
        if msg.error() is None:
            after[(msg.topic(), msg.partition())] = msg.offset() + 1
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in after.items()]


def create_topics(specs: Iterable[topics.TopicSpec], timeout: float = 15.0) -> tuple[list[str], list[str]]:
    """Create what is missing; return (created, already there). Safe to run again."""
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [s for s in specs if s.name not in existing]
    created: list[str] = []
    if wanted:
        futures = admin.create_topics(
            [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1) for s in wanted],
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    return created, sorted(s.name for s in specs if s.name in existing)


def list_topics(timeout: float = 10.0) -> set[str]:
    return set(AdminClient({"bootstrap.servers": bootstrap()}).list_topics(timeout=timeout).topics)
