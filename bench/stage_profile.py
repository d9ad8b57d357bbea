"""`python -m bench.stage_profile [--signals N] [--batch B] [--profile [--sort S] [--lines L]]`: each worker stage's cost per
message, in-process (no Celery hop), on real Tansu, Redis and PostgreSQL.

Runs N signals through the risk batch, its validated output through the trading batch, and the
fills through the portfolio batch, B records a task, as the bridge would send them; then 2N ticks
(the bench's two ticks a signal) over the same instruments through the ticks batch, 2B a task, which
marks the positions just made. Prints µs per message per stage, the median task's ms and, with
--profile, the top functions by cumulative time (`--sort tottime`: by their own time, where waits on
PostgreSQL and Kafka show; `--lines N` for more than 25): the profile that guides the pipeline's
optimisation (docs/performance.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable

from bench.stack import ROOT


def _setup(run_dir) -> list:
    from alphapanda import infra

    services = [infra.start_tansu(run_dir), infra.start_redis(run_dir)]
    database_url, database = infra.fresh_database(os.environ.get("DATABASE_URL"), run_dir, "profile")
    services += [database] if database else []
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(KAFKA_BOOTSTRAP=services[0].url, REDIS_URL=services[1].url, ACTIVE_BROKERS="paper",
                      PAPER_MIS_SQUARE_OFF="off", LOG_LEVEL="warning",
                      DJANGO_SETTINGS_MODULE="alphapanda.settings")  # fmt: skip
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("create_topics", stdout=io.StringIO())
    from riskcheck.models import RiskLimits
    from trading.instruments import load_csv
    from trading.setup import instruments_upsert

    instruments_upsert(load_csv())
    RiskLimits.objects.get_or_create(broker="paper", defaults={"max_open_positions": 1000, "max_position": 10**6,
                                                               "max_daily_trades": 10**7})  # fmt: skip
    return services


def _traded() -> list:
    """The instruments the signals trade and the ticks then mark."""
    from trading.instruments import load_csv

    return load_csv()[:20]


def _signals(n: int) -> list[tuple[int, str, str]]:
    from alphapanda import envelope, events, topics

    instruments = _traded()
    records = []
    for i in range(n):
        inst = instruments[i % len(instruments)]
        price = inst.last_price
        signal = events.Signal(
            strategy=f"s{i % 20}", instrument_token=inst.token, symbol=inst.symbol, exchange=inst.exchange,
            side=events.Side.BUY if (i // 20) % 3 else events.Side.SELL, quantity=1, reference_price=price,
            bids=(events.Level(price - inst.tick_size, 10_000, 5),),
            asks=(events.Level(price + inst.tick_size, 10_000, 5),), ts=time.time_ns(),
        )  # fmt: skip
        eid = envelope.new_id()
        env = envelope.build(type=envelope.SIGNAL, payload=signal, broker="paper", correlation_id=eid,
                             causation_id=None, ts_event=time.time_ns(), event_id=eid)  # fmt: skip
        key = topics.order_key(signal.strategy, signal.instrument_token).decode()
        records.append((i, key, envelope.encode(env).decode()))
    return records


def _ticks(n: int) -> list[tuple[int, str, str]]:
    """`n` random-walk ticks over the instruments the signals traded, as the feed publishes them."""
    from alphapanda import envelope, topics
    from trading.feeds.sim import RandomWalkFeed
    from trading.publishing import tick_envelope

    feed = RandomWalkFeed(_traded(), seed=1)
    records = []
    for i in range(n):
        tick = feed.next_tick(time.time_ns())
        key = topics.tick_key(tick.instrument_token).decode()
        records.append((i, key, envelope.encode(tick_envelope(tick)).decode()))
    return records


def _stage(
    name: str, task: Callable, topic: str, records: list, batch: int, profile: bool
) -> tuple[float, float, cProfile.Profile | None]:
    """Run `records` through the task's function in batches; return µs per record, the median task's
    ms (steadier than the mean: a task's Kafka flush now and then waits on the broker) and the profile.

    The first batch is not timed: it warms the process as a running worker is warm (the producer's
    idempotent session alone holds its first flush ~500 ms, topic metadata, the database connection).
    """
    profiler = cProfile.Profile() if profile else None
    chunks = [[list(r) for r in records[start : start + batch]] for start in range(0, len(records), batch)]
    if len(chunks) < 2:
        raise SystemExit("--signals must be more than one --batch (the first batch only warms up)")
    took: list[float] = []
    for n, chunk in enumerate(chunks):
        started = time.perf_counter()
        if profiler and n:
            profiler.enable()
        task(broker="paper", topic=topic, parts=[[0, f"{name}-{n}", chunk]])
        if profiler and n:
            profiler.disable()
        if n:
            took.append(time.perf_counter() - started)
    per = sum(took) / sum(len(chunk) for chunk in chunks[1:]) * 1e6
    return per, statistics.median(took) * 1e3, profiler


def _run_stage(name: str, task, topic: str, records: list, batch: int, args: argparse.Namespace) -> float:
    """One stage's line (and, with --profile, its profile); returns its µs a record."""
    per, median_ms, profiler = _stage(name, task.run, topic, records, batch, args.profile)
    if profiler:
        _profile_of(name, profiler, sort=args.sort, lines=args.lines)
    print(f"{name:<10} {len(records):>6} records  {per:8.0f} µs each  ({1e6 / per:,.0f}/s)  "
          f"median task {median_ms:6.2f} ms")  # fmt: skip
    return per


def _profile_of(name: str, profiler: cProfile.Profile, *, sort: str, lines: int) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(lines)
    print(f"--- {name} profile ---\n{out.getvalue()}")


def _outputs_of(topic: str) -> list[tuple[int, str, str]]:
    from alphapanda.log_reader import read_records

    return [(r.offset, (r.key or b"").decode(), r.value.decode()) for r in read_records(topic)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage_profile", description=__doc__)
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--sort", default="cumulative", help="profile order: cumulative, or tottime (own time)"
    )
    parser.add_argument("--lines", type=int, default=25, help="profile lines a stage")
    args = parser.parse_args(argv)
    run_dir = ROOT / ".run" / "stage_profile"
    run_dir.mkdir(parents=True, exist_ok=True)
    services = _setup(run_dir)
    try:
        from portfolio.tasks import apply_fills_task
        from riskcheck.tasks import validate_signals_task
        from trading.tasks import execute_signals_task, process_ticks_task

        stages = (
            ("risk", validate_signals_task, "paper.signals.raw", lambda: _signals(args.signals)),
            ("trading", execute_signals_task, "paper.signals.validated",
             lambda: _outputs_of("paper.signals.validated")),
            ("portfolio", apply_fills_task, "paper.orders.filled", lambda: _outputs_of("paper.orders.filled")),
        )  # fmt: skip
        total = 0.0
        for name, task, topic, records_of in stages:
            total += _run_stage(name, task, topic, records_of(), args.batch, args)
        print(
            f"{'all three':<10} {'':>6}          {total:8.0f} µs per signal ({1e6 / total:,.0f}/s one worker)"
        )
        _run_stage(
            "ticks", process_ticks_task, "market.ticks", _ticks(2 * args.signals), 2 * args.batch, args
        )
    finally:
        for service in reversed(services):
            service.stop()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
