"""`make chaos`: the paper pipeline under load while its local processes are killed, frozen and
restarted at random (seeded, bounded), then a check of every stage against its log.

It starts its own Tansu and redis-server (so both can be frozen or restarted) and a fresh database
(`<name>_chaos` on a configured PostgreSQL, else an embedded server), runs the feed, the strategy
runner, the bridge and two Celery workers on the paper queue, and injects signals of its own, a few
of them hostile. Faults: kill -9 of a worker, the bridge, the strategy runner or the feed; SIGTERM
of a worker; a worker or Kafka frozen with SIGSTOP; Redis restarted empty; every database
connection dropped. When the time is up it stops the load, waits for the pipeline to catch up and
prints what was sent, the faults, and what was lost, duplicated, out of order and dead-lettered.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import signal as signals
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from alphapanda import children, infra
from alphapanda.children import Child

RUN_DIR = children.ROOT / ".run" / "chaos"
WORKERS = ("worker-1", "worker-2")


class Injector(threading.Thread):
    """Manual signals at a steady rate on paper.signals.raw, one in `hostile_every` spoilt on purpose.

    Counts only what Kafka acknowledged: that is what was sent.
    """

    def __init__(self, rate: float, hostile_every: int, seed: int) -> None:
        super().__init__(name="injector", daemon=True)
        self.rate, self.hostile_every = rate, hostile_every
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.sent: Counter[str] = Counter()

    def _delivered(self, kind: str) -> Callable:
        def on_delivery(err, msg) -> None:
            self.sent[kind if err is None else "failed"] += 1

        return on_delivery

    def run(self) -> None:
        from alphapanda import kafka, topics
        from trading.instruments import load_csv

        producer = kafka.new_producer()
        instruments = {i.symbol: i for i in load_csv()}
        picks = [instruments[s] for s in ("RELIANCE", "INFY")]
        topic = topics.broker_topic("paper", topics.SIGNALS_RAW)
        n = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            n += 1
            instrument = picks[n % len(picks)]
            strategy = f"chaos-{n % 3}"
            hostile = n % self.hostile_every == 0
            value = _hostile(n, self.rng) if hostile else _signal(instrument, strategy, n)
            key = topics.order_key(strategy, instrument.token)
            kafka.produce(producer, topic, key, value, self._delivered("hostile" if hostile else "signals"))
            next_at += 1 / self.rate
            self.stop.wait(max(0.0, next_at - time.monotonic()))
        producer.flush(30)


def _signal(instrument, strategy: str, n: int) -> bytes:
    import redis

    from alphapanda import envelope, events
    from portfolio import read_model
    from trading.publishing import market_signal, origin_envelope

    try:
        mark = read_model.snapshot("paper")["marks"].get(instrument.token)
    except redis.exceptions.RedisError:  # restarted by a fault a moment ago: the listed price will do
        mark = None
    price = Decimal(mark) / 100 if mark else instrument.last_price
    side = events.Side.BUY if n % 4 < 2 else events.Side.SELL
    signal = market_signal(
        instrument, strategy=strategy, side=side, price=price, depth=10_000, reason="chaos"
    )
    return envelope.encode(origin_envelope(envelope.SIGNAL, signal, broker="paper", ts_event=time.time_ns()))


def _hostile(n: int, rng: random.Random) -> bytes:
    """Bad input of the kinds the DLQ must explain: broken JSON, bytes, wrong broker, version, values."""
    import json

    good = json.loads(_signal_template())
    kind = rng.randrange(5)
    if kind == 0:
        return b'{"id": "truncated", "type": "sig'
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(24))
    if kind == 2:
        good["broker"] = "zerodha"
    elif kind == 3:
        good["version"] = 99
    else:
        good["payload"]["quantity"] = -n
    good["id"] = f"hostile-{n}"
    return json.dumps(good).encode()


def _signal_template() -> bytes:
    from trading.instruments import load_csv

    return _signal(load_csv()[0], "chaos-hostile", 0)


class Chaos:
    """The processes, and the faults that may hit them."""

    def __init__(
        self,
        env: dict[str, str],
        redis_service: infra.Service,
        kafka_service: infra.Service,
        rng: random.Random,
        run_dir: Path,
    ) -> None:
        self.env, self.redis, self.kafka, self.rng = env, redis_service, kafka_service, rng
        self.run_dir = run_dir
        self.procs: dict[str, Child] = {}
        self.faults: Counter[str] = Counter()
        self.restarts = 0

    def start(self, name: str) -> None:
        argv = {
            "bridge": children.manage("run_bridge", "--report-every", "10"),
            "strategies": children.manage("run_strategies"),
            "feed": children.manage("run_feed", "--source", "sim", "--rate", self.env["CHAOS_TICK_RATE"],
                                    "--seed", str(self.rng.randrange(1 << 30))),
        }.get(name) or children.worker("paper", f"paper-{name}")  # fmt: skip
        self.procs[name] = children.start(name, argv, self.env, self.run_dir / "logs", append=True)

    def kill_and_restart(self, name: str, *, graceful: bool = False) -> str:
        from alphapanda import faults, lifecycle

        child = self.procs[name]
        if graceful:
            took = lifecycle.terminate(child.proc, 10)
            if took > 10:
                self.faults["slow SIGTERM exit (>10 s)"] += 1
        else:
            faults.kill(child.proc)
        time.sleep(self.rng.uniform(0.2, 3.0))
        self.start(name)
        self.restarts += 1
        return f"{'SIGTERM' if graceful else 'kill -9'} {name}, restarted"

    def freeze(self, name: str, pid: int, low: float, high: float) -> str:
        from alphapanda import faults

        seconds = self.rng.uniform(low, high)
        faults.freeze(pid, seconds)
        return f"froze {name} for {seconds:.1f}s"

    def restart_redis(self) -> str:
        from alphapanda import redis_conn

        port = int(urlsplit(self.redis.url).port or 0)
        self.redis.stop()
        time.sleep(self.rng.uniform(0.2, 2.0))
        self.redis = infra.start_redis(self.run_dir, port=port)
        redis_conn._client = None
        return "Redis restarted empty"

    def drop_database(self) -> str:
        from alphapanda import faults

        return f"dropped {faults.drop_database_connections()} database connections"

    def inject(self) -> str:
        kinds: dict[str, Callable[[], str]] = {
            "kill -9 worker": lambda: self.kill_and_restart(self.rng.choice(WORKERS)),
            "SIGTERM worker": lambda: self.kill_and_restart(self.rng.choice(WORKERS), graceful=True),
            "kill -9 bridge": lambda: self.kill_and_restart("bridge"),
            "kill -9 strategy runner": lambda: self.kill_and_restart("strategies"),
            "kill -9 feed": lambda: self.kill_and_restart("feed"),
            "worker frozen": lambda: self.freeze(
                w := self.rng.choice(WORKERS), self.procs[w].proc.pid, 2, 15
            ),
            "Kafka frozen": lambda: self.freeze("Kafka", self.kafka.pid, 2, 20),
            "Redis restarted empty": self.restart_redis,
            "database connections dropped": self.drop_database,
        }
        kind = self.rng.choice(sorted(kinds))
        what = kinds[kind]()
        self.faults[kind] += 1
        return what

    def revive(self) -> None:
        """A process that died on its own (not by a fault) is a finding; restart it and count it."""
        for name, child in list(self.procs.items()):
            if child.proc.poll() is not None:
                self.faults[f"{name} exited by itself ({child.proc.returncode})"] += 1
                self.start(name)


def _applied() -> int:
    from portfolio.models import AppliedFill

    return AppliedFill.objects.filter(broker="paper").count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--signal-rate", type=float, default=20, help="injected signals per second")
    parser.add_argument("--tick-rate", type=float, default=100, help="simulated ticks per second")
    parser.add_argument("--gap", type=float, nargs=2, default=(3.0, 10.0), help="seconds between faults")
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="logs and embedded services")
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir
    rng = random.Random(args.seed)
    out = functools.partial(print, flush=True)
    signals.signal(signals.SIGTERM, signals.default_int_handler)  # stop everything it started, as on Ctrl-C
    out(f"chaos: {args.minutes:g} min, seed {args.seed}; logs in {run_dir / 'logs'}")
    shutil.rmtree(run_dir / "logs", ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    kafka_service = infra.start_tansu(run_dir)
    redis_service = infra.start_redis(run_dir)
    database_url, pg_service = infra.fresh_database(os.environ.get("DATABASE_URL"), run_dir, "chaos")
    os.environ.update(KAFKA_BOOTSTRAP=kafka_service.url, REDIS_URL=redis_service.url, DATABASE_URL=database_url,
                      ACTIVE_BROKERS="paper", DJANGO_SETTINGS_MODULE="alphapanda.settings")  # fmt: skip
    # Chaos is about delivery: the paper MIS cut-off (which refuses entries after 15:20 IST) stays off
    # unless asked for, so the run trades at any hour.
    os.environ.setdefault("PAPER_MIS_SQUARE_OFF", "off")
    env = dict(os.environ, BRIDGE_BATCH_TIMEOUT_S="10", LOG_LEVEL="info", CHAOS_TICK_RATE=str(args.tick_rate))
    chaos: Chaos | None = None
    injector = Injector(args.signal_rate, hostile_every=40, seed=args.seed)
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("create_topics", stdout=open(os.devnull, "w"))  # noqa: SIM115
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        from riskcheck.models import RiskLimits

        # The demo's limits, but no daily trade cap and no circuit breakers: at full speed the demo
        # strategies reach both within minutes (they pay charges on a random walk), and from then on
        # every entry is refused and the trading and portfolio stages would sit idle.
        RiskLimits.objects.filter(broker="paper").update(
            max_daily_trades=10**9, max_daily_loss=Decimal(10**9), max_drawdown=Decimal(10**9)
        )
        chaos = Chaos(env, redis_service, kafka_service, rng, run_dir)
        for name in (*WORKERS, "bridge", "strategies", "feed"):
            chaos.start(name)
        injector.start()
        started = time.monotonic()
        end = started + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(rng.uniform(*args.gap), max(0.0, end - time.monotonic())))
            if time.monotonic() >= end:
                break
            chaos.revive()
            what = chaos.inject()
            out(f"[{time.monotonic() - started:6.0f}s] {what}; fills applied {_applied()}")
        return _finish(chaos, injector, args, out)
    finally:
        injector.stop.set()
        if chaos is not None:
            children.stop_all(list(chaos.procs.values()))
        for service in (pg_service, chaos.redis if chaos else redis_service, kafka_service):
            if service is not None:
                service.stop()


def _finish(chaos: Chaos, injector: Injector, args, out) -> int:
    from alphapanda import lifecycle
    from alphapanda.delivery_report import DeliveryReport, delivery_report

    out("time is up: stopping the load, waiting for the pipeline to catch up ...")
    injector.stop.set()
    injector.join(40)
    for name in ("feed", "strategies"):
        lifecycle.terminate(chaos.procs.pop(name).proc, 10)
    chaos.revive()
    deadline = time.monotonic() + args.drain_timeout
    report: DeliveryReport = delivery_report(broker="paper")
    while not report.ok and time.monotonic() < deadline:
        chaos.revive()
        time.sleep(2)
        report = delivery_report(broker="paper")
    slow = {name: t for name, child in chaos.procs.items() if (t := lifecycle.terminate(child.proc, 10)) > 10}
    chaos.procs.clear()
    report = delivery_report(broker="paper")
    _summary(report, chaos, injector, args, slow, out)
    return 0 if report.ok and not slow else 1


def _summary(report, chaos: Chaos, injector: Injector, args, slow: dict[str, float], out) -> None:
    from alphapanda.delivery_table import render

    raw = report.stages[0]
    out(render([report]))
    out("")
    out(f"chaos summary (seed {args.seed}, {args.minutes:g} min)")
    out(f"  sent        {injector.sent['signals']} signals and "
        f"{injector.sent['hostile']} hostile messages by the injector ({injector.sent['failed']} not "
        f"acknowledged by Kafka); {raw.messages} messages on {raw.topic} in all, the strategies' included")  # fmt: skip
    out(
        f"  faults      {sum(chaos.faults.values())}: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(chaos.faults.items()))
    )
    out(f"  lost        {report.total('lost')}")
    out(f"  duplicated  {report.total('duplicated')}")
    out(f"  out of order {report.total('out_of_order')}")
    out(f"  DLQ'd       {report.total('dead_lettered')} (reasons above)")
    out(f"  portfolio   {'matches' if report.portfolio.ok else 'DIFFERS from'} the fills log "
        f"({report.portfolio.fills} fills)")  # fmt: skip
    if slow:
        out(f"  slow exits  {slow}")
    out("  verdict     " + ("OK: nothing lost, doubled or reordered" if report.ok and not slow else "FAILED"))


if __name__ == "__main__":
    sys.exit(main())
