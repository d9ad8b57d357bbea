"""Poison messages go to `<topic>.dlq`, whole, with the reason: never silently dropped."""

from __future__ import annotations

import base64
import logging

from confluent_kafka import Producer

from alphapanda import envelope, events, kafka, topics

log = logging.getLogger(__name__)


def dead_letter(
    producer: Producer,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    stage: str,
    error: str,
) -> None:
    raw = value or b""
    try:
        text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    letter = events.DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        stage=stage,
        error=error,
        value=text,
        value_encoding=encoding,
        key=key.decode("utf-8", "replace") if key else None,
    )
    # The id is derived from the message's position, so a redelivered poison message is recognisable.
    env = envelope.build(
        type=envelope.DEAD_LETTER,
        payload=letter,
        broker=topics.broker_of(topic),
        correlation_id=envelope.derive_id(f"{topic}/{partition}/{offset}", "dlq"),
        causation_id=None,
        ts_event=envelope.now_ns(),
        event_id=envelope.derive_id(f"{topic}/{partition}/{offset}", "dlq"),
    )
    log.warning("dead-lettered %s[%d]@%d at %s: %s", topic, partition, offset, stage, error)
    kafka.publish(producer, topics.dlq_topic(topic), key, env)


def decode_dead_letter(value: bytes) -> events.DeadLetter:
    return envelope.decode_any(value).payload
