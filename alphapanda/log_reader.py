"""Reading a topic from its start to its current end, without joining a consumer group.

The end is found with partition-EOF events (from fetch responses), not from ListOffsets
watermarks, which Tansu does not report faithfully.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from alphapanda import envelope, kafka


def read_all(topic: str, *, timeout: float = 10.0) -> Iterator[envelope.Message]:
    """Every valid message now in `topic`, each partition in offset order; invalid ones are skipped."""
    for value in read_values(topic, timeout=timeout):
        try:
            yield envelope.decode(topic, value)
        except envelope.InvalidMessage:
            continue


class Record(NamedTuple):
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def read_values(topic: str, *, timeout: float = 10.0) -> Iterator[bytes]:
    """The raw value of every message now in `topic`, each partition in offset order."""
    for record in read_records(topic, timeout=timeout):
        yield record.value


def read_records(topic: str, *, timeout: float = 10.0) -> Iterator[Record]:
    """Every message now in `topic` with its position, each partition in offset order."""
    consumer = kafka.consumer(f"reader-{uuid.uuid4().hex}", **{"enable.partition.eof": True})
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            return
        pending = set(meta.partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        while pending:
            msg = consumer.poll(timeout)
            if msg is None:
                raise TimeoutError(f"{topic}: no end of partitions {sorted(pending)} within {timeout:.0f}s")
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
                continue
            yield Record(msg.partition(), msg.offset(), msg.key(), msg.value())
    finally:
        consumer.close()
