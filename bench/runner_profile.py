"""`python -m bench.runner_profile [--ticks N]`: the strategy runner's own cost, in-process.

Builds the runner from the database's active strategies (after `make bench`, its universe: 20
strategies over 200 instruments), feeds it N random-walk ticks with no Kafka around it, and prints
ticks/s, the per-tick time's percentiles and every garbage-collector pause. It tells the runner's
share of the tick -> signal hop from the broker's and the feed's.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.runner_profile", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--ticks", type=int, default=40_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphapanda.settings")
    import django

    django.setup()
    from trading import selectors
    from trading.feeds.sim import RandomWalkFeed
    from trading.runner import StrategyRunner

    specs = selectors.strategy_specs()
    instruments = sorted({i for s in specs for i in s.instruments}, key=lambda i: i.token)
    if not instruments:
        print("no active strategies with instruments: run `make bench` or `manage.py seed_demo` first")
        return 1
    runner = StrategyRunner(specs, active_brokers=("paper",))
    feed = RandomWalkFeed(instruments, seed=1)
    pauses: list[tuple[int, float]] = []
    began: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            pauses.append((info["generation"], time.perf_counter() - began.pop()))

    gc.callbacks.append(on_gc)
    took, signals = [], 0
    started = time.perf_counter()
    for _ in range(args.ticks):
        tick = feed.next_tick(time.time_ns())
        at = time.perf_counter()
        signals += len(runner.on_tick(tick))
        took.append(time.perf_counter() - at)
    elapsed = time.perf_counter() - started
    gc.callbacks.remove(on_gc)
    took.sort()

    def pick(q: float) -> float:
        return took[min(len(took) - 1, int(q * len(took)))] * 1000

    print(f"{len(specs)} strategies over {len(instruments)} instruments: {args.ticks:,} ticks, {signals:,} signals "
          f"in {elapsed:.2f}s ({args.ticks / elapsed:,.0f} ticks/s, tick generation included)")  # fmt: skip
    print(f"per tick: p50 {pick(0.5):.3f} ms, p99 {pick(0.99):.3f} ms, max {took[-1] * 1000:.2f} ms")
    if not pauses:
        print("garbage collector: no collections")
    for generation in sorted({g for g, _ in pauses}):
        spans = [d for g, d in pauses if g == generation]
        print(
            f"garbage collector, generation {generation}: {len(spans)} collections, longest {max(spans) * 1000:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
