"""Poison messages go to `<topic>.dlq`, whole, with the reason: never silently dropped."""

from __future__ import annotations

import base64
import logging

import msgspec
from confluent_kafka import Producer

from alphapanda import envelope, events, kafka, metrics, topics

log = logging.getLogger(__name__)

# A letter must itself fit on the bus (Kafka's ~1 MB): of a larger original only the head is kept.
MAX_KEPT_BYTES = 256 * 1024


def _kept(raw: bytes) -> tuple[str, str]:
    """The original as utf-8 text if it decodes and stays small once JSON-escaped, else its head in base64."""
    if len(raw) <= MAX_KEPT_BYTES:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if len(msgspec.json.encode(text)) <= 2 * MAX_KEPT_BYTES:  # quotes and controls double or worse
                return text, "utf-8"
    return base64.b64encode(raw[:MAX_KEPT_BYTES]).decode("ascii"), "base64"


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
    text, encoding = _kept(raw)
    letter = events.DeadLetter(
        topic=topic,
        partition=partition,
        offset=offset,
        stage=stage,
        error=error,
        value=text,
        value_encoding=encoding,
        key=key.decode("utf-8", "replace")[:1024] if key else None,
        truncated_from=len(raw) if len(raw) > MAX_KEPT_BYTES else None,
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
    metrics.dead_lettered(topic, stage)


def decode_dead_letter(value: bytes) -> events.DeadLetter:
    return envelope.decode_any(value).payload
