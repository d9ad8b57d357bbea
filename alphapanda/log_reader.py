"""Reading a topic from its start to its current end, without joining a consumer group."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from confluent_kafka import TopicPartition

from alphapanda import envelope, kafka


def read_all(topic: str, *, timeout: float = 10.0) -> Iterator[envelope.Message]:
    """Every valid message now in `topic`, partition by partition; invalid ones are skipped."""
    consumer = kafka.consumer(f"reader-{uuid.uuid4().hex}")
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            return
        for partition in sorted(meta.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            position = low
            while position < high:
                msg = consumer.poll(timeout)
                if msg is None:
                    raise TimeoutError(f"{topic}[{partition}] stopped at offset {position} of {high}")
                if msg.error():
                    continue
                position = msg.offset() + 1
                try:
                    yield envelope.decode(topic, msg.value())
                except envelope.InvalidMessage:
                    continue
    finally:
        consumer.close()
