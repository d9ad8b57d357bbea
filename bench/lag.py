"""Consumer lag over a run: each group's committed offsets against the log's end.

The end is counted by tailing the topics (Tansu's watermarks are not faithful): the offset past the
last message seen on each partition. The strategy runner commits after its signals are durable and
the bridge after each batch's tasks completed, so lag is work not yet done, and zero lag on every
topic (with the feed stopped) means the pipeline has drained.
"""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from alphapanda import envelope, kafka, topics
from bench.load import Periodic

SAMPLE_EVERY_S = 1.0
STRATEGIES_GROUP = "alphapanda-strategies"
BRIDGE_GROUP = "alphapanda-bridge"


class LagSampler(Periodic):
    """Samples lag every second; `ends` holds each topic's message count as last seen."""

    def __init__(self, brokers: tuple[str, ...], every: float = SAMPLE_EVERY_S) -> None:
        super().__init__("lag sampler", every)
        self.bridged = topics.bridged_topics(brokers)
        self.tailed = list(
            dict.fromkeys([*self.bridged, *(topics.broker_topic(b, topics.SIGNALS_RAW) for b in brokers)])
        )
        self.started = time.monotonic()
        self.series: list[dict] = []
        self._ends: dict[tuple[str, int], int] = {}
        # a long fetch wait: an idle tail must not keep Tansu busy answering fetches (it counts ends only)
        self._tail = kafka.consumer(f"bench-lag-{envelope.new_id()}", **{"fetch.wait.max.ms": 500})
        self._tail.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t in self.tailed for p in range(topics.PARTITIONS)]
        )
        self._groups = {group: kafka.consumer(group) for group in (STRATEGIES_GROUP, BRIDGE_GROUP)}

    def count(self, topic: str) -> int:
        """Messages in `topic` as of the last sample."""
        return sum(end for (t, _), end in list(self._ends.items()) if t == topic)

    def _read_ends(self) -> None:
        while batch := self._tail.consume(1000, 0.05):
            for msg in batch:
                if msg.error() is None:
                    key = (msg.topic(), msg.partition())
                    self._ends[key] = max(self._ends.get(key, 0), msg.offset() + 1)

    def _progress(self, group: str, names: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        """Per topic, what the group has committed (messages done) and its lag behind the ends."""
        wanted = [TopicPartition(t, p) for t in names for p in range(topics.PARTITIONS)]
        done, lag = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
        for tp in self._groups[group].committed(wanted, timeout=10):
            done[tp.topic] += max(tp.offset, 0)
            lag[tp.topic] += max(0, self._ends.get((tp.topic, tp.partition), 0) - max(tp.offset, 0))
        return done, lag

    def sample(self) -> None:
        self._read_ends()
        strategies_done, strategies_lag = self._progress(STRATEGIES_GROUP, [topics.MARKET_TICKS])
        bridge_done, bridge_lag = self._progress(BRIDGE_GROUP, self.bridged)
        self.series.append(
            {
                "t": round(time.monotonic() - self.started, 1),
                "ns": time.time_ns(),
                "ticks": self.count(topics.MARKET_TICKS),
                "strategies_lag": strategies_lag[topics.MARKET_TICKS],
                "bridge_lag": bridge_lag,
                # ticks each group has taken in and committed: their rates are the tick steps' figures
                "strategies_done": strategies_done[topics.MARKET_TICKS],
                "marks_done": bridge_done[topics.MARKET_TICKS],
            }
        )

    def drained(self, samples: int = 2) -> bool:
        """No lag anywhere in the last `samples` samples, and no new ticks between them."""
        last = self.series[-samples:]
        return (
            len(last) == samples
            and len({s["ticks"] for s in last}) == 1
            and all(s["strategies_lag"] == 0 and not any(s["bridge_lag"].values()) for s in last)
        )

    def stop(self) -> None:
        super().stop()
        self._tail.close()
        for consumer in self._groups.values():
            consumer.close()
