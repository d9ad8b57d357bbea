"""The Kafka -> Celery bridge: each topic's messages to its task, on the queue named after the broker.

One batch in flight per partition; the batches of a topic's partitions that are ready together go as
one task per broker, so a worker pays a task's fixed cost (its reports, context reads and flush)
once per topic rather than once per partition. A partition's offset is committed only after its
batch was reported complete on the broker's Redis stream (commit after completion). A batch that
does not complete within the timeout is sent again; the tasks are idempotent.
Malformed messages are dead-lettered here and never reach a worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
from celery import Celery
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from kombu.exceptions import OperationalError as QueueUnavailable

from alphapanda import dlq, envelope, kafka, metrics, task_body, topics
from alphapanda.inflight import Batch, InFlight, Record, spread

log = logging.getLogger(__name__)

TASKS: dict[str, str] = {
    topics.MARKET_TICKS: "trading.tasks.process_ticks",
    topics.SIGNALS_RAW: "riskcheck.tasks.validate_signals",
    topics.SIGNALS_VALIDATED: "trading.tasks.execute_signals",
    topics.ORDERS_FILLED: "portfolio.tasks.apply_fills",
}
POLL_BATCH = 1000
PAUSE_ABOVE = 5000  # buffered messages per partition before it is paused
REDIS_CHECK_EVERY_S = 1.0
METRICS_EVERY_S = 1.0  # gauges (buffered, in flight, lag) are refreshed this often, not per message
# Redis (the task queue and the completion stream) down or unreachable: wait and resend, never exit.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, QueueUnavailable)


def done_stream(broker: str) -> str:
    return f"{broker}:bridge:done"


def report_done(client: redis.Redis, broker: str, batch_ids: Iterable[str], body: str | None = None) -> None:
    """Called by a task when its batches are durable; the bridge then commits their offsets. The
    task's body (`task_body`) goes in the same round trip: a redelivery finds nothing to redo."""
    _report(client, broker, batch_ids, "done", drop=body)


def report_start(client: redis.Redis, broker: str, batch_ids: Iterable[str]) -> None:
    """Called by a task as it begins, so queueing time never counts towards a resend."""
    _report(client, broker, batch_ids, "start")


def _report(
    client: redis.Redis, broker: str, batch_ids: Iterable[str], event: str, drop: str | None = None
) -> None:
    pipe = client.pipeline(transaction=False)  # one round trip for all of a task's batches
    for batch_id in batch_ids:
        pipe.xadd(done_stream(broker), {"batch": batch_id, "event": event}, maxlen=10_000, approximate=True)
    if drop is not None:
        pipe.delete(drop)
    pipe.execute()


@dataclass
class BridgeStats:
    consumed: int = 0
    dispatched: int = 0
    dead_lettered: int = 0
    committed: int = 0
    resent: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


class Bridge:
    def __init__(
        self,
        *,
        brokers: tuple[str, ...],
        consumer: Consumer,
        producer: Producer,
        redis_client: redis.Redis,
        celery_app: Celery,
        batch_timeout_s: float,
        max_batch: int,
        tasks_per_topic: int = 1,
        queue_timeout_s: float = 300.0,
        report_every_s: float = 10.0,
    ) -> None:
        self.brokers = brokers
        self.consumer = consumer
        self.producer = producer
        self.redis = redis_client
        self.celery = celery_app
        self.batch_timeout_s = batch_timeout_s
        self.queue_timeout_s = queue_timeout_s
        self.max_batch = max_batch
        self.tasks_per_topic = tasks_per_topic
        self.inflight = InFlight()
        self.stats = BridgeStats()
        self.stop_event = threading.Event()
        self.report_every_s = report_every_s
        self._reported = time.monotonic()
        self._paused: set[tuple[str, int]] = set()
        # Per assigned partition, the next offset a lane takes: a record before it is one already
        # taken; after it, in a poll that spanned a rebalance, one fetched before the rebalance.
        self._next: dict[tuple[str, int], int] = {}
        self._rebalances = 0
        self._stream_ids = {done_stream(b): self._stream_tail(done_stream(b)) for b in brokers}
        self._redis_run_id = self._run_id()
        self._redis_checked = time.monotonic()
        self._redis_lost = False
        self._metrics_at = 0.0

    def _run_id(self) -> str:
        return str(self.redis.info("server").get("run_id", ""))

    def _stream_tail(self, stream: str) -> str:
        last = self.redis.xrevrange(stream, count=1)
        return last[0][0] if last else "0-0"

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        names = topics.bridged_topics(self.brokers)
        self.consumer.subscribe(
            names, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )
        log.info("bridge consuming %s", ", ".join(names))
        try:
            while not self.stop_event.is_set():
                self.step()
            self.drain()
        finally:
            self.consumer.close()

    def step(self) -> None:
        wait = 0.005 if self.inflight.in_flight_count() else 0.05
        rebalances = self._rebalances
        first = self.consumer.poll(wait)
        if first is not None:
            messages = [first, *self.consumer.consume(POLL_BATCH - 1, 0)]
            self._take(messages, spanned_rebalance=self._rebalances != rebalances)
        try:
            self._watch_redis()
            self._collect_completions()
            self._dispatch()
            self._resend_expired()
        except REDIS_DOWN as exc:
            if not self._redis_lost:
                log.warning(
                    "Redis unavailable (%s); in-flight batches will be sent again when it is back", exc
                )
            self._redis_lost = True
            self.stop_event.wait(0.5)
        if time.monotonic() - self._metrics_at >= METRICS_EVERY_S:
            self._metrics_at = time.monotonic()
            self.update_gauges()
        if time.monotonic() - self._reported >= self.report_every_s:
            self._reported = time.monotonic()
            self.report()

    def report(self) -> None:
        s = self.stats
        log.info(
            "consumed=%d dispatched=%d committed=%d dead_lettered=%d resent=%d in_flight=%d",
            s.consumed,
            s.dispatched,
            s.committed,
            s.dead_lettered,
            s.resent,
            self.inflight.in_flight_count(),
        )

    def update_gauges(self) -> None:
        """Buffered and in-flight work (exact, from the bridge's own state) and consumer lag (from the
        broker's watermarks, which Tansu reports unfaithfully)."""
        metrics.set_buffered(
            topics.bridged_topics(self.brokers),
            ((topic, n) for topic, _, n in self.inflight.buffered_lanes()),
        )
        metrics.BRIDGE_IN_FLIGHT.set(self.inflight.in_flight_count())
        metrics.BRIDGE_PAUSED.set(len(self._paused))
        metrics.update_consumer_lag("bridge", self.consumer)

    def drain(self, timeout: float = 8.0) -> None:
        """On shutdown: wait (bounded) for in-flight batches so their offsets get committed."""
        deadline = time.monotonic() + timeout
        while self.inflight.in_flight_count() and time.monotonic() < deadline:
            self._collect_completions(block_ms=100)
        kafka.flush(self.producer)

    # -- intake ----------------------------------------------------------------------------------
    def _take(self, messages: list, *, spanned_rebalance: bool = False) -> None:
        consumed: dict[str, int] = {}
        try:
            self._take_each(messages, consumed, spanned_rebalance)
        finally:
            for topic, n in consumed.items():
                metrics.messages_in(metrics.broker_label(topic), "bridge", topic).inc(n)

    def _take_each(self, messages: list, consumed: dict[str, int], spanned_rebalance: bool) -> None:
        for msg in messages:
            if msg.error():
                log.warning("consume error: %s", msg.error())
                continue
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            expected = self._next.get((topic, partition))
            if expected is not None and (offset < expected or (offset > expected and spanned_rebalance)):
                # Taken already, or fetched before a rebalance that reset this partition to its
                # committed offset: taking it now would put it ahead of the records before it.
                continue
            self._next[(topic, partition)] = offset + 1
            self.stats.consumed += 1
            consumed[topic] = consumed.get(topic, 0) + 1
            raw_key = msg.key()
            key = raw_key.decode("utf-8", "replace") if raw_key else None
            value = msg.value()
            try:
                env = envelope.decode(topic, value).envelope
                metrics.topic_stage(topic, "bridge").observe(env.ts_produce, env.ts_event, time.time_ns())
                record = Record(offset, key, value)
            except envelope.InvalidMessage as exc:
                dlq.dead_letter(
                    self.producer,
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=raw_key,
                    value=value,
                    stage="bridge",
                    error=str(exc),
                )
                self.stats.dead_lettered += 1
                record = Record(offset, key, b"", live=False)
            self.inflight.add(topic, partition, record)
            if (
                self.inflight.buffered(topic, partition) > PAUSE_ABOVE
                and (topic, partition) not in self._paused
            ):
                self.consumer.pause([TopicPartition(topic, partition)])
                self._paused.add((topic, partition))

    # -- dispatch and completion -----------------------------------------------------------------
    def _brokers_for(self, topic: str) -> list[str]:
        broker = topics.broker_of(topic)
        return list(self.brokers) if broker is None else [broker]

    def _dispatch(self) -> None:
        now = time.monotonic()
        by_topic: dict[str, list[Batch]] = {}
        for topic, partition, records in self.inflight.ready(self.max_batch):
            batch = self.inflight.start(topic, partition, records, set(self._brokers_for(topic)), now)
            if batch.live:
                by_topic.setdefault(topic, []).append(batch)
            else:
                self._finish(self.inflight.complete_all(batch.batch_id))
            if (topic, partition) in self._paused and self.inflight.buffered(topic, partition) < PAUSE_ABOVE:
                self.consumer.resume([TopicPartition(topic, partition)])
                self._paused.discard((topic, partition))
        for topic, batches in by_topic.items():
            for group in spread(batches, self.tasks_per_topic):
                self._send(group, self._brokers_for(topic))

    def _send(self, batches: list[Batch], brokers: list[str]) -> None:
        """One task per broker for `batches`, all of one topic; each task carries the key of its
        broker's copy of the body, [[partition, batch id, records]...] (`task_body`)."""
        topic = batches[0].topic
        body = task_body.encode(
            [
                [b.partition, b.batch_id, [task_body.record(r.offset, r.key, r.value) for r in b.live]]
                for b in batches
            ]
        )
        sent = sum(len(b.live) for b in batches)
        for broker in brokers:
            self.celery.send_task(
                TASKS[topics.stream_of(topic)],
                kwargs={"broker": broker, "topic": topic, "body": task_body.put(self.redis, broker, body)},
                queue=broker,
            )
            metrics.messages_out(broker, "bridge", topic).inc(sent)
        self.stats.dispatched += sent
        self.stats.by_topic[topic] = self.stats.by_topic.get(topic, 0) + sent

    def _collect_completions(self, block_ms: int | None = None) -> None:
        replies = self.redis.xread(self._stream_ids, count=1000, block=block_ms)
        for stream, entries in replies or []:
            broker = stream.split(":", 1)[0]
            for entry_id, fields in entries:
                self._stream_ids[stream] = entry_id
                if fields.get("event") == "start":
                    self.inflight.begin(fields["batch"], broker, time.monotonic())
                    continue
                done = self.inflight.complete(fields["batch"], broker)
                if done is not None:
                    self._finish(done)

    def _finish(self, batch: Batch | None) -> None:
        if batch is None:
            return
        if len(self.producer):
            kafka.flush(self.producer)  # dead letters durable before their offsets pass
        self.consumer.commit(
            offsets=[TopicPartition(batch.topic, batch.partition, batch.next_offset)], asynchronous=True
        )
        self.stats.committed += len(batch.records)
        metrics.committed(batch.topic).inc(len(batch.records))

    def _watch_redis(self) -> None:
        """A Redis that restarted empty (new run id) or was unreachable may have lost queued tasks:
        send every unfinished batch again at once rather than after the queue timeout."""
        now = time.monotonic()
        if not self._redis_lost and now - self._redis_checked < REDIS_CHECK_EVERY_S:
            return
        self._redis_checked = now
        run_id = self._run_id()
        if run_id == self._redis_run_id and not self._redis_lost:
            return
        restarted = run_id != self._redis_run_id
        self._redis_run_id, self._redis_lost = run_id, False
        if restarted:
            self._stream_ids = {stream: "0-0" for stream in self._stream_ids}
        again = self.inflight.resend_all(now)
        log.warning(
            "Redis %s: sending %d unfinished batches again",
            "restarted" if restarted else "is back",
            len(again),
        )
        for batch, brokers in again:
            self._send([batch], sorted(brokers))
            self.stats.resent += 1
            metrics.BRIDGE_RESENT.inc()

    def _resend_expired(self) -> None:
        now = time.monotonic()
        waiting = self.inflight.unstarted(now, older_than=self.batch_timeout_s)
        idle = frozenset(b for b in waiting if not self.redis.llen(b))  # the queue is named after the broker
        expired = self.inflight.expired(
            now, run_timeout=self.batch_timeout_s, queue_timeout=self.queue_timeout_s, idle=idle
        )
        for batch, overdue in expired:
            batch = self.inflight.resent(batch, now)
            log.warning(
                "batch %s[%d] offsets %d-%d unfinished (ran over %.0fs, or never began in %.0fs, or "
                "never began with its queue empty); "
                "sending again (attempt %d) to %s",
                batch.topic,
                batch.partition,
                batch.records[0].offset,
                batch.records[-1].offset,
                self.batch_timeout_s,
                self.queue_timeout_s,
                batch.attempts,
                ",".join(sorted(overdue)),
            )
            self._send([batch], sorted(overdue))
            self.stats.resent += 1
            metrics.BRIDGE_RESENT.inc()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Lanes start again at the committed offsets, where the consumer fetches from."""
        self._rebalances += 1
        try:
            committed = consumer.committed(partitions, timeout=10)
        except KafkaException as exc:  # the first record of each partition sets its start instead
            log.warning("committed offsets unavailable on assignment (%s)", exc)
            committed = []
        for tp in partitions:
            self._next.pop((tp.topic, tp.partition), None)
        for tp in committed:
            if tp.offset >= 0:
                self._next[(tp.topic, tp.partition)] = tp.offset

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        self.inflight.revoke([(p.topic, p.partition) for p in partitions])
        for p in partitions:
            self._paused.discard((p.topic, p.partition))
            self._next.pop((p.topic, p.partition), None)
