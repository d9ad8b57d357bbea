"""The bench's load: real signal envelopes, a producer that can pace itself, a topic reader thread.

Every message is stamped at send (`ts_event`), so each stage's latency is measured from the same
moment: the produce call, as the pipeline's own envelopes measure it from the event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import msgspec
from confluent_kafka import OFFSET_BEGINNING, Message, Producer, TopicPartition

from alphapanda import envelope, events, kafka, topics
from bench.stack import BenchError
from trading.instruments import load_csv
from trading.publishing import market_signal, origin_envelope

INSTRUMENTS = 10
STRATEGIES = 20  # x INSTRUMENTS keys, so the load spreads over every partition
POLL_BATCH = 1000
PROGRESS_EVERY_S = 10.0

Load = list[tuple[bytes, envelope.Envelope]]


class _Head(msgspec.Struct):
    id: str
    ts_event: int


_head_decoder = msgspec.json.Decoder(_Head)


def stamp(value: bytes) -> int:
    """The envelope's `ts_event` without decoding the payload: all a reader needs, cheaply."""
    return _head_decoder.decode(value).ts_event


def signals(count: int, prefix: str) -> Load:
    """Valid `paper.signals.validated` envelopes: one-unit MARKET orders on shipped instruments.

    Strategy names are `<prefix>NN`, so a run's rows are found by prefix; each key alternates buy and
    sell, so positions stay small; one level of depth each side, so each order is exactly one fill.
    """
    shipped = [i for i in load_csv() if i.instrument_type == "EQ" and i.lot_size == 1][:INSTRUMENTS]
    load: Load = []
    for n in range(count):
        instrument = shipped[n % INSTRUMENTS]
        strategy = f"{prefix}{n // INSTRUMENTS % STRATEGIES:02d}"
        side = events.Side.BUY if n // (INSTRUMENTS * STRATEGIES) % 2 == 0 else events.Side.SELL
        signal = market_signal(instrument, strategy=strategy, side=side, price=instrument.last_price, depth=1000,
                               reason="bench load")  # fmt: skip
        env = origin_envelope(
            envelope.SIGNAL_VALIDATED, signal, broker="paper", ts_event=0
        )  # stamped at send
        load.append((topics.order_key(strategy, instrument.token), env))
    return load


def envelope_bytes() -> int:
    """The size of one load message on the wire (a pipeline run's, the longest strategy names)."""
    return len(envelope.encode(signals(1, "bench-000000-paced-")[0][1]))


def produce(producer: Producer, topic: str, load: Load, rate: float | None = None) -> int:
    """Publish `load` (at `rate` a second when given, else flat out) and flush; return the first send, ns."""
    first = time.time_ns()
    started = time.perf_counter()
    for n, (key, env) in enumerate(load):
        if rate:
            ahead = started + n / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        env.ts_event = time.time_ns()
        kafka.publish(producer, topic, key, env)
    kafka.flush(producer)
    return first


def create_topic(name: str) -> None:
    kafka.create_topics([topics.TopicSpec(name, topics.PARTITIONS)])


class TopicReader(threading.Thread):
    """Reads a topic from its start, handing each polled batch of messages to `handle`, until stopped.

    Partitions are assigned rather than subscribed, so no group join (~3 s on Tansu) delays it.
    """

    def __init__(self, topic: str, handle: Callable[[list[Message]], object]) -> None:
        super().__init__(name=f"read {topic}", daemon=True)
        self.topic = topic
        self.handle = handle
        self.halt = threading.Event()
        self.failure: Exception | None = None

    def run(self) -> None:
        consumer = kafka.consumer(f"bench-{self.topic}-{envelope.new_id()}")
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(topics.PARTITIONS)])
        try:
            while not self.halt.is_set():
                first = consumer.poll(0.05)
                if first is not None:
                    batch = [first, *consumer.consume(POLL_BATCH - 1, 0)]
                    self.handle([msg for msg in batch if msg.error() is None])
        except Exception as exc:  # surfaced by check(), in the main thread
            self.failure = exc
        finally:
            consumer.close()

    def check(self) -> None:
        if self.failure is not None:
            raise BenchError(f"reader of {self.topic} failed: {self.failure!r}")

    def stop(self) -> None:
        self.halt.set()
        self.join()


class Periodic(threading.Thread):
    """Calls `sample()` every `every` seconds until stopped; a failure is kept for `check()`."""

    def __init__(self, name: str, every: float) -> None:
        super().__init__(name=name, daemon=True)
        self.every = every
        self.halt = threading.Event()
        self.failure: Exception | None = None

    def sample(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.sample()
            except Exception as exc:  # surfaced by check(), in the main thread
                self.failure = exc
                return
            self.halt.wait(self.every)

    def check(self) -> None:
        if self.failure is not None:
            raise BenchError(f"{self.name} failed: {self.failure!r}")

    def stop(self) -> None:
        self.halt.set()
        self.join()


def wait_for(
    count: Callable[[], int],
    target: int,
    *,
    timeout: float,
    what: str,
    checks: Iterable[Callable[[], None]] = (),
    say: Callable[[str], None] | None = None,
) -> None:
    """Poll until `count()` reaches `target`, running `checks` (which raise on a dead child) every round.

    With `say`, a progress line every 10 s, so a long run shows it is moving (or not).
    """
    started = time.monotonic()
    reported = started
    while (got := count()) < target:
        for check in checks:
            check()
        now = time.monotonic()
        if now - started > timeout:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}: {got} of {target}")
        if say and now - reported >= PROGRESS_EVERY_S:
            reported = now
            say(f"    {what}: {got} of {target} after {now - started:.0f}s")
        time.sleep(0.02)
