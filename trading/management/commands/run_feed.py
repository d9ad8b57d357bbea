import logging
import queue
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from alphapanda import envelope, kafka, lifecycle, metrics, process, topics
from trading import selectors
from trading.feeds import csv_replay
from trading.feeds.sim import FRAME_MS, RandomWalkFeed, frame_sizes
from trading.kite import session as kite_session
from trading.kite.feed import KiteFeed
from trading.kite.ticks import InvalidTick, to_tick
from trading.models import Instrument, Strategy
from trading.publishing import tick_envelope

log = logging.getLogger("trading.feed")


class Command(BaseCommand):
    help = "Publish market ticks to market.ticks: a seeded random walk (sim), a recorded CSV (csv) or Kite (kite)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", choices=["sim", "csv", "kite"], default="sim")
        parser.add_argument(
            "--rate", type=float, default=100.0, help="sim: ticks per second (all instruments)"
        )
        parser.add_argument(
            "--frame-ms",
            type=float,
            default=FRAME_MS,
            help="sim: ticks go out in frames this far apart, many instruments each, as Kite's websocket "
            "sends them (fewer, larger produce batches: see docs/performance.md)",
        )
        parser.add_argument("--seed", type=int, default=42, help="sim: random seed (same seed, same prices)")
        parser.add_argument("--count", type=int, default=0, help="stop after this many ticks (0: no limit)")
        parser.add_argument(
            "--duration", type=float, default=0, help="stop after this many seconds (0: no limit)"
        )
        parser.add_argument(
            "--symbols", default="", help="sim: comma-separated symbols (default: strategies')"
        )
        parser.add_argument("--file", type=Path, help="csv: the recorded ticks to replay")
        parser.add_argument(
            "--speed", type=float, default=1.0, help="csv: replay speed factor (0: as fast as possible)"
        )
        parser.add_argument("--record", type=Path, help="sim: also write the ticks to this CSV for replay")

    def handle(self, *args, source: str, **opts) -> None:
        stop = lifecycle.stop_on_signals()
        process.started("feed")
        published = metrics.messages_out(metrics.SHARED, "feed", topics.MARKET_TICKS)
        producer = kafka.ready_producer()
        if source == "sim":
            frames = self._sim(opts)
        elif source == "kite":
            frames = ([tick] for tick in self._kite(opts, stop))
        else:
            if not opts["file"]:
                raise CommandError("--source csv needs --file PATH")
            if not opts["file"].exists():
                raise CommandError(f"no such file: {opts['file']}")
            by_token = {i.token: selectors.to_domain(i) for i in Instrument.objects.all()}
            frames = (
                [tick] for tick in self._replay(csv_replay.read_ticks(opts["file"], by_token), opts["speed"])
            )
        recorded = []
        sent, started, last_report = 0, time.monotonic(), time.monotonic()
        try:
            for frame in frames:
                if stop.is_set():
                    break
                if opts["count"]:
                    frame = frame[: opts["count"] - sent]
                kafka.produce_all(
                    producer,
                    [(topics.MARKET_TICKS, topics.tick_key(t.instrument_token), envelope.encode(tick_envelope(t)))
                     for t in frame],
                )  # fmt: skip
                if opts["record"]:
                    recorded.extend(frame)
                sent += len(frame)
                published.inc(len(frame))
                if opts["count"] and sent >= opts["count"]:
                    break
                if opts["duration"] and time.monotonic() - started >= opts["duration"]:
                    break
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    log.info("published %d ticks (%.0f/s)", sent, sent / (last_report - started))
        except ValueError as exc:  # a bad CSV line: name it and stop
            raise CommandError(str(exc)) from exc
        finally:
            kafka.flush(producer)
            if opts["record"]:
                csv_replay.write_ticks(opts["record"], recorded)
        self.stdout.write(f"published {sent} ticks in {time.monotonic() - started:.1f}s")

    def _sim(self, opts: dict):
        """Frames of ticks: each frame's ticks share its time, as a websocket message's do."""
        instruments = self._instruments(opts["symbols"])
        feed = RandomWalkFeed(instruments, seed=opts["seed"])
        if opts["rate"] <= 0:  # as fast as possible
            while True:
                now_ns = time.time_ns()
                yield [feed.next_tick(now_ns) for _ in range(len(instruments))]
        frame_s = opts["frame_ms"] / 1000
        next_at = time.monotonic()
        for size in frame_sizes(opts["rate"], frame_s):
            now_ns = time.time_ns()
            yield [feed.next_tick(now_ns) for _ in range(size)]
            next_at += frame_s
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def _kite(self, opts: dict, stop):
        """Live ticks from Kite (or the sandbox) for the strategies' instruments."""
        session = kite_session.session_current()
        if session is None:
            raise CommandError(kite_session.paused_reason() or "no Kite session")
        instruments = self._instruments(opts["symbols"])
        feed = KiteFeed(instruments, access_token=session.access_token)
        feed.start()
        try:
            while not stop.is_set() and not feed.failed:
                try:
                    data = feed.ticks.get(timeout=0.2)
                except queue.Empty:
                    continue
                instrument = feed.instruments.get(data.get("instrument_token"))
                try:
                    tick = instrument and to_tick(data, instrument, received_ns=time.time_ns())
                except InvalidTick as exc:  # one impossible tick must not stop the market feed
                    log.warning("%s", exc)
                    continue
                if tick:
                    yield tick
        finally:
            feed.close()
        if feed.failed:
            raise CommandError("the Kite feed gave up reconnecting")

    def _replay(self, ticks, speed: float):
        for delay, tick in csv_replay.paced(ticks, speed=speed):
            if delay > 0:
                time.sleep(delay)
            yield tick

    def _instruments(self, symbols: str):
        rows = Instrument.objects.exclude(segment="INDICES")
        if symbols:
            wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
            rows = rows.filter(symbol__in=wanted)
            missing = set(wanted) - set(rows.values_list("symbol", flat=True))
            if missing:
                raise CommandError(f"unknown symbols: {', '.join(sorted(missing))}")
        else:
            used = Instrument.objects.filter(strategies__in=Strategy.objects.filter(active=True)).distinct()
            rows = used if used.exists() else rows
        instruments = [selectors.to_domain(r) for r in rows.order_by("token")]
        if not instruments:
            raise CommandError(
                "no instruments: run `manage.py seed_demo` or `manage.py load_instruments` first"
            )
        return instruments
