"""The worker side of the bridge: run one batch of records through a handler, in offset order.

Each handler is idempotent and returns the events it caused; they are produced (again, on a
redelivery: same derived ids, so readers de-duplicate) and flushed before completion is reported.
Bad input goes to the DLQ with the reason. An infrastructure error (a dropped database connection,
Redis or Kafka unreachable) retries the batch with backoff; any other error fails the batch, which
the bridge sends again after its run timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import redis
import structlog
from celery import shared_task
from confluent_kafka import KafkaException
from django import db

from alphapanda import bridge, dlq, envelope, kafka, metrics, redis_conn, task_body, topics
from alphapanda.errors import BadInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes | None
    envelope: envelope.Envelope


# Errors that say the infrastructure, not the message, is at fault: worth trying the batch again soon.
TRANSIENT = (
    db.OperationalError,
    db.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    KafkaException,
)

Handler = Callable[[envelope.Message], list[Outgoing]]
BatchHandler = Callable[[list[envelope.Message]], list[Outgoing]]


def run_batch(
    *,
    broker: str,
    topic: str,
    parts: list[list],
    stage: str,
    handle: Handler | None = None,
    handle_all: BatchHandler | None = None,
    body: str | None = None,
) -> int:
    """Run `handle` on each message (bad input dead-lettered one by one: a per-message check, or the
    whole work), then `handle_all` on the valid ones (bulk work, one transaction for the batch).

    `parts` are the bridge's batches of one topic, [partition, batch id, [[offset, key, value]...]],
    each in its partition's order; partitions hold different keys, so per-key order is kept.
    `body`, the Redis key they came from (`task_body`), is deleted with the done report.
    Each message is handled with its correlation and event ids bound to the log context, so any line
    logged meanwhile (a dead letter, a warning) names the chain it belongs to."""
    topic_broker = topics.broker_of(topic)
    if topic_broker is not None and topic_broker != broker:
        raise ValueError(f"batch of {topic} routed to broker {broker}: refusing to cross brokers")
    started = time.perf_counter()
    stats = metrics.stage(broker, stage)
    size = sum(len(records) for _, _, records in parts)
    metrics.messages_in(broker, stage, topic).inc(size)
    stats.batch_size.observe(size)
    debug = log.isEnabledFor(logging.DEBUG)
    producer = kafka.producer()
    batch_ids = [batch_id for _, batch_id, _ in parts]
    bridge.report_start(redis_conn.client(), broker, batch_ids)
    outputs: list[Outgoing] = []
    valid: list[envelope.Message] = []
    structlog.contextvars.bind_contextvars(broker=broker, stage=stage)
    try:
        for partition, offset, key, value in _records(parts):
            raw = task_body.value_bytes(value)
            env = None
            try:
                message = envelope.decode(topic, raw)
                env = message.envelope
                stats.observe(env.ts_produce, env.ts_event, time.time_ns())
                structlog.contextvars.bind_contextvars(correlation_id=env.correlation_id, event_id=env.id)
                if handle is not None:
                    outputs.extend(handle(message))
                if debug:  # one line per message, at debug only: the chain's trace through this stage
                    log.debug("%s took %s", stage, env.type)
                valid.append(message)
            except (envelope.InvalidMessage, BadInput) as exc:
                if env is None:  # undecodable: the ids bound are the previous message's
                    structlog.contextvars.unbind_contextvars("correlation_id", "event_id")
                dlq.dead_letter(
                    producer,
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=key.encode() if key else None,
                    value=raw,
                    stage=stage,
                    error=str(exc),
                )
        structlog.contextvars.unbind_contextvars("correlation_id", "event_id")
        if handle_all is not None and valid:
            outputs.extend(handle_all(valid))
        per_topic = publish_outputs(producer, outputs)
        kafka.flush(producer)
        metrics.count_outputs(stage, per_topic)
        bridge.report_done(redis_conn.client(), broker, batch_ids, body=body)
        if debug:
            log.debug(
                "%s batch of %d from %s%s: %d valid, out %s",
                stage, size, topic, [p for p, _, _ in parts], len(valid), per_topic,
            )  # fmt: skip
    finally:
        structlog.contextvars.clear_contextvars()
    stats.batch_duration.observe(time.perf_counter() - started)
    return len(valid)


def publish_outputs(producer, outputs: list[Outgoing]) -> dict[str, int]:
    """Encode a handler's events, then produce them together (`kafka.produce_all`); counts per topic."""
    return kafka.produce_all(producer, [(o.topic, o.key, envelope.encode(o.envelope)) for o in outputs])


def _records(parts: list[list]) -> Iterator[tuple[int, int, str | None, str | bytes]]:
    """(partition, offset, key, value) of every record, part after part, each part in offset order."""
    for partition, _, records in parts:
        for offset, key, value in records:
            yield partition, offset, key, value


def _body_parts(broker: str, body: str, stage: str) -> list[list] | None:
    """The batches a task's body key holds, or `None` when they are gone: the task ran already (a
    redelivery after its completion was reported), or its body expired; the bridge sends again any
    batch that never completed."""
    if not task_body.of_broker(broker, body):
        raise ValueError(f"batch body {body} sent to broker {broker}: refusing to cross brokers")
    parts = task_body.take(redis_conn.client(), body)
    if parts is None:
        log.warning(
            "%s: batch body %s is gone (its task finished already, or it expired); nothing to run",
            stage,
            body,
        )
    return parts


def batch_task(
    name: str,
    *,
    stage: str,
    handle: Callable[[str, envelope.Message], list[Outgoing]] | None = None,
    handle_all: Callable[[str, list[envelope.Message]], list[Outgoing]] | None = None,
):
    """Register the Celery task the bridge sends a topic's batches to: a thin shell over `run_batch`.

    Keyword-only with `**kwargs`, so a rolling deploy that adds an argument does not break it.
    """

    @shared_task(name=name, bind=True, max_retries=8)
    def task(
        self, *, broker: str, topic: str, body: str | None = None, parts: list | None = None, **kwargs
    ) -> int:
        """The bridge sends `body`, the key of the batches in Redis; a direct call may pass `parts`."""
        try:
            if body is not None:
                parts = _body_parts(broker, body, stage)
                if parts is None:
                    return 0
            elif parts is None:
                raise TypeError(f"{name} needs the batches: a body key or parts")
            return run_batch(
                broker=broker,
                topic=topic,
                parts=parts,
                stage=stage,
                handle=(lambda m: handle(broker, m)) if handle else None,
                handle_all=(lambda ms: handle_all(broker, ms)) if handle_all else None,
                body=body,
            )
        except TRANSIENT as exc:
            db.close_old_connections()  # a connection the server dropped is replaced on the next use
            delay = min(5.0, 0.25 * 2**self.request.retries)
            metrics.stage(broker, stage).batch_retries.inc()
            batches = body if parts is None else [b for _, b, _ in parts]  # the body is not read yet
            log.warning("%s batch %s: %s; trying again in %.2fs", stage, batches, exc, delay)
            raise self.retry(exc=exc, countdown=delay) from exc

    return task
