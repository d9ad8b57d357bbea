"""`python -m bench.tansu_probe`: what the embedded broker (Tansu) costs in CPU, and what drives it.

Three measurements on a fresh Tansu each, with the consumer settings the pipeline uses:
- idle: consumers polling empty partitions, at several `fetch.wait.max.ms`;
- steady: one message per produce request at a fixed rate, read by one consumer, Tansu's CPU in
  successive windows as the log grows (and the same load produced but never read);
- framed: the same rate sent in bursts every 50 and 250 ms (as the sim feed's frames), so each
  request carries several.

Tansu 0.6's in-memory storage keeps every produce batch as an object and lists all of a partition's
objects on each fetch that finds data, so its CPU grows with the log; bursts mean fewer, larger
batches. docs/performance.md has the figures this printed and the source lines behind them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from alphapanda import infra, kafka

PAYLOAD = b"x" * 500  # about an envelope's size
PARTITIONS = 4


@contextmanager
def _tansu(topic_count: int) -> Iterator[tuple[str, psutil.Process, list[str]]]:
    with tempfile.TemporaryDirectory(prefix="tansu-probe-") as run_dir:
        service = infra.start_tansu(Path(run_dir))
        try:
            names = [f"probe-{n}" for n in range(topic_count)]
            admin = AdminClient({"bootstrap.servers": service.url})
            for future in admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names]).values():
                future.result()
            yield service.url, psutil.Process(service.pid), names
        finally:
            service.stop()


def _cores(proc: psutil.Process, seconds: float) -> float:
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    return round((after.user + after.system - before.user - before.system) / seconds, 3)


class _Reader(threading.Thread):
    """One consumer group reading `names` from the start, with the pipeline's consumer settings."""

    def __init__(self, bootstrap: str, names: list[str], group: str, wait_ms: int) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.read = 0
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                **kafka.CONSUMER_DEFAULTS,
                "fetch.wait.max.ms": wait_ms,
            }
        )
        self.consumer.subscribe(names)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.read += len(self.consumer.consume(500, 0.1))
        self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def idle(wait_ms: int, topic_count: int, window_s: float) -> float:
    """Tansu's cores while one consumer polls `topic_count` empty 4-partition topics."""
    with _tansu(topic_count) as (bootstrap, proc, names):
        reader = _Reader(bootstrap, names, "probe-idle", wait_ms)
        reader.start()
        time.sleep(6)  # the group join
        cores = _cores(proc, window_s)
        reader.stop()
        return cores


def load(
    rate: float, burst_s: float, *, read: bool, seconds: float, window_s: float
) -> list[tuple[int, float]]:
    """(messages in the log, Tansu's cores over the window ending then) while producing `rate`/s in
    bursts every `burst_s` (0: one message a request), read by one consumer when `read`."""
    with _tansu(1) as (bootstrap, proc, names):
        reader = _Reader(bootstrap, names, "probe-load", 10) if read else None
        if reader:
            reader.start()
            time.sleep(6)
        producer = Producer({"bootstrap.servers": bootstrap, **kafka.PRODUCER_DEFAULTS})
        sent, started, windows = 0, time.monotonic(), []
        mark, before = started, proc.cpu_times()
        while (now := time.monotonic()) - started < seconds:
            while sent < int((now - started) * rate):
                producer.produce(names[0], PAYLOAD, key=str(sent % 200).encode())
                sent += 1
            producer.poll(0)
            time.sleep(burst_s or 0.001)
            if now - mark >= window_s:
                after = proc.cpu_times()
                used = after.user + after.system - before.user - before.system
                windows.append((sent, round(used / (now - mark), 3)))
                mark, before = now, after
        producer.flush(10)
        if reader:
            reader.stop()
        return windows


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tansu_probe", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="messages/s of the steady and framed runs")
    parser.add_argument("--seconds", type=float, default=35, help="length of each load run")
    parser.add_argument("--window", type=float, default=5, help="seconds per CPU reading")
    args = parser.parse_args(argv)
    say("idle: one consumer, nothing produced (Tansu cores)")
    for topic_count, wait_ms in ((1, 10), (4, 10), (4, 30), (4, 100)):
        cores = idle(wait_ms, topic_count, args.window)
        say(f"  {topic_count * PARTITIONS:2d} partitions, fetch.wait.max.ms={wait_ms:3d}: {cores:.3f}")
    runs = (
        ("steady, read", 0.0, True),
        ("steady, not read", 0.0, False),
        ("frames of 50 ms, read", 0.05, True),
        ("frames of 250 ms, read", 0.25, True),
    )
    for name, burst_s, read in runs:
        say(
            f"{name}: {args.rate:g} messages/s (messages in the log: Tansu cores over the last {args.window:g}s)"
        )
        windows = load(args.rate, burst_s, read=read, seconds=args.seconds, window_s=args.window)
        say("  " + "   ".join(f"{sent:,}: {cores:.2f}" for sent, cores in windows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
