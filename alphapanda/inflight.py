"""Which messages the bridge has handed to Celery and not yet seen finish: one batch per partition.

Pure bookkeeping, no Kafka or Celery: a partition's next batch starts only when the previous one
finished (so per-key order holds) and its offset is committed only then (so nothing is lost).
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field

TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class Record:
    offset: int
    key: str | None
    value: bytes  # the message as read from Kafka
    live: bool = True  # False: already dead-lettered by the bridge; kept only to commit past it in order


@dataclass
class Batch:
    batch_id: str
    topic: str
    partition: int
    records: list[Record]
    waiting_for: set[str]
    sent_at: float
    attempts: int = 1
    started: dict[str, float] = field(default_factory=dict)  # broker -> when its task began

    def overdue(
        self, now: float, *, run_timeout: float, queue_timeout: float, idle: frozenset[str] = frozenset()
    ) -> set[str]:
        """Brokers whose task ran too long (a worker died), or never began: within the queue timeout
        while their queue is still busy, within the run timeout once it is `idle` (empty, so the task
        is nowhere to be run: held by a worker that died before starting it, or lost with Redis).

        Time spent waiting in the queue behind other work is not a reason to send again.
        """
        return {
            broker
            for broker in self.waiting_for
            if (broker in self.started and now - self.started[broker] >= run_timeout)
            or (broker not in self.started and now - self.sent_at >= queue_timeout)
            or (broker not in self.started and broker in idle and now - self.sent_at >= run_timeout)
        }

    @property
    def next_offset(self) -> int:
        return self.records[-1].offset + 1

    @property
    def live(self) -> list[Record]:
        return [r for r in self.records if r.live]


def spread(batches: list[Batch], tasks: int) -> list[list[Batch]]:
    """`batches` dealt round robin over at most `tasks` groups, one task each: as many as there are
    workers to take them, so combining partitions never leaves a worker idle."""
    groups = [batches[i::tasks] for i in range(tasks)]
    return [g for g in groups if g]


@dataclass
class _Lane:
    buffered: deque[Record] = field(default_factory=deque)
    in_flight: Batch | None = None


class InFlight:
    def __init__(self) -> None:
        self._lanes: dict[TopicPartition, _Lane] = {}
        self._batches: dict[str, Batch] = {}

    def add(self, topic: str, partition: int, record: Record) -> None:
        self._lanes.setdefault((topic, partition), _Lane()).buffered.append(record)

    def buffered(self, topic: str, partition: int) -> int:
        lane = self._lanes.get((topic, partition))
        return len(lane.buffered) if lane else 0

    def ready(self, max_batch: int) -> list[tuple[str, int, list[Record]]]:
        """Take the next batch of every idle partition (what has been polled, no waiting to fill)."""
        out = []
        for (topic, partition), lane in self._lanes.items():
            if lane.in_flight is None and lane.buffered:
                take = min(max_batch, len(lane.buffered))
                out.append((topic, partition, [lane.buffered.popleft() for _ in range(take)]))
        return out

    def start(
        self, topic: str, partition: int, records: list[Record], brokers: set[str], now: float
    ) -> Batch:
        batch = Batch(uuid.uuid4().hex, topic, partition, records, set(brokers), now)
        lane = self._lanes[(topic, partition)]
        lane.in_flight = batch
        self._batches[batch.batch_id] = batch
        return batch

    def complete(self, batch_id: str, broker: str) -> Batch | None:
        """Record one broker's completion; return the batch once every broker has finished it."""
        batch = self._batches.get(batch_id)
        if batch is None:
            return None  # a batch from before a rebalance or resend: already handled
        batch.waiting_for.discard(broker)
        if batch.waiting_for:
            return None
        del self._batches[batch_id]
        self._lanes[(batch.topic, batch.partition)].in_flight = None
        return batch

    def complete_all(self, batch_id: str) -> Batch | None:
        """Complete a batch that needed no task (every record was dead-lettered)."""
        batch = self._batches.get(batch_id)
        for broker in list(batch.waiting_for if batch else ()):
            self.complete(batch_id, broker)
        return batch

    def begin(self, batch_id: str, broker: str, now: float) -> None:
        batch = self._batches.get(batch_id)
        if batch is not None:
            batch.started.setdefault(broker, now)

    def expired(
        self, now: float, *, run_timeout: float, queue_timeout: float, idle: frozenset[str] = frozenset()
    ) -> list[tuple[Batch, set[str]]]:
        out = []
        for batch in self._batches.values():
            overdue = batch.overdue(now, run_timeout=run_timeout, queue_timeout=queue_timeout, idle=idle)
            if overdue:
                out.append((batch, overdue))
        return out

    def unstarted(self, now: float, *, older_than: float) -> set[str]:
        """Brokers owing a batch sent more than `older_than` s ago that has not begun."""
        return {
            broker
            for batch in self._batches.values()
            if now - batch.sent_at >= older_than
            for broker in batch.waiting_for
            if broker not in batch.started
        }

    def resent(self, batch: Batch, now: float) -> Batch:
        """Give an expired batch a new id so a late completion of the old send is ignored."""
        del self._batches[batch.batch_id]
        batch.batch_id = uuid.uuid4().hex
        batch.sent_at = now
        batch.started = {}
        batch.attempts += 1
        self._batches[batch.batch_id] = batch
        return batch

    def resend_all(self, now: float) -> list[tuple[Batch, set[str]]]:
        """Every unfinished batch, re-identified, with the brokers still owing it: for when the task
        queue itself may have lost them (Redis restarted empty or was unreachable)."""
        return [(self.resent(batch, now), set(batch.waiting_for)) for batch in list(self._batches.values())]

    def revoke(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            lane = self._lanes.pop(tp, None)
            if lane and lane.in_flight:
                self._batches.pop(lane.in_flight.batch_id, None)

    def buffered_lanes(self) -> list[tuple[str, int, int]]:
        """(topic, partition, records buffered) of every partition held: for gauges."""
        return [(topic, partition, len(lane.buffered)) for (topic, partition), lane in self._lanes.items()]

    def in_flight_count(self) -> int:
        return len(self._batches)
