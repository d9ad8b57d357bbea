import logging
import time

import structlog
from django import db
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alphapanda import dlq, envelope, kafka, lifecycle, metrics, process, topics
from trading import selectors
from trading.publishing import signal_envelope, signal_topic_key
from trading.runner import StrategyRunner
from trading.strategies.base import StrategyConfigError

log = logging.getLogger("trading.strategies")
POLL_BATCH = 1000
STAGE = "strategies"
GAUGES_EVERY_S = 2.0  # consumer lag is refreshed this often


class Command(BaseCommand):
    _stats = metrics.stage(metrics.SHARED, STAGE)
    _debug = False
    help = "Run the active strategies on market.ticks and fan their signals out to <broker>.signals.raw."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--group", default="alphapanda-strategies", help="Kafka consumer group")
        parser.add_argument("--reload-every", type=float, default=10.0, help="seconds between config reloads")

    def handle(self, *args, group: str, reload_every: float, **options) -> None:
        stop = lifecycle.stop_on_signals()
        try:
            runner = StrategyRunner(selectors.strategy_specs(), active_brokers=settings.ACTIVE_BROKERS)
        except StrategyConfigError as exc:
            raise CommandError(str(exc)) from exc
        consumer = kafka.consumer(group)
        producer = kafka.ready_producer()
        consumer.subscribe([topics.MARKET_TICKS])
        process.started(STAGE)
        ticks_in = metrics.messages_in(metrics.SHARED, STAGE, topics.MARKET_TICKS)
        self._debug = log.isEnabledFor(logging.DEBUG)
        structlog.contextvars.bind_contextvars(stage=STAGE)
        ticks = signals = 0
        reloaded = reported = gauged = time.monotonic()
        log.info("strategy runner started: brokers %s", ",".join(settings.ACTIVE_BROKERS))
        try:
            while not stop.is_set():
                first = consumer.poll(0.05)
                if first is not None:
                    batch = [first, *consumer.consume(POLL_BATCH - 1, 0)]
                    ticks_in.inc(len(batch))
                    out: list[tuple[str, bytes, bytes]] = []
                    for msg in batch:
                        if msg.error():
                            log.warning("consume error: %s", msg.error())
                            continue
                        ticks += 1
                        self._on_message(msg, runner, producer, out)
                    structlog.contextvars.unbind_contextvars("correlation_id", "event_id")
                    metrics.count_outputs(STAGE, kafka.produce_all(producer, out))
                    signals += len(out)
                    kafka.flush(producer)  # signals durable before the ticks' offsets pass
                    if offsets := kafka.next_offsets(batch):
                        consumer.commit(offsets=offsets, asynchronous=True)
                now = time.monotonic()
                if now - reloaded >= reload_every:
                    reloaded = now
                    self._reload(runner)
                if now - gauged >= GAUGES_EVERY_S:
                    gauged = now
                    metrics.update_consumer_lag(STAGE, consumer)
                if now - reported >= 10:
                    reported = now
                    log.info("ticks=%d signals=%d strategy_errors=%s", ticks, signals, dict(runner.errors))
        finally:
            structlog.contextvars.clear_contextvars()
            kafka.flush(producer)
            consumer.close()
        log.info("strategy runner stopped after %d ticks, %d signals", ticks, signals)

    def _on_message(self, msg, runner: StrategyRunner, producer, out: list[tuple[str, bytes, bytes]]) -> None:
        """One tick through the strategies, its correlation id bound to the log context meanwhile;
        its signals, encoded, are added to `out`."""
        try:
            message = envelope.decode(msg.topic(), msg.value())
        except envelope.InvalidMessage as exc:
            structlog.contextvars.unbind_contextvars("correlation_id", "event_id")
            dlq.dead_letter(
                producer,
                topic=msg.topic(),
                partition=msg.partition(),
                offset=msg.offset(),
                key=msg.key(),
                value=msg.value(),
                stage="strategies",
                error=str(exc),
            )
            return
        env = message.envelope
        self._stats.observe(env.ts_produce, env.ts_event, time.time_ns())
        structlog.contextvars.bind_contextvars(correlation_id=env.correlation_id, event_id=env.id)
        signals = runner.on_tick(message.payload)
        for broker, signal in signals:
            topic, key = signal_topic_key(broker, signal)
            out.append((topic, key, envelope.encode(signal_envelope(message.envelope, broker, signal))))
        if signals and self._debug:
            log.debug(
                "tick %s: %d signals (%s)",
                message.payload.symbol,
                len(signals),
                ",".join(s.strategy for _, s in signals),
            )

    def _reload(self, runner: StrategyRunner) -> None:
        try:
            runner.reload(selectors.strategy_specs())
        except StrategyConfigError as exc:
            log.error("strategy configuration not reloaded: %s", exc)
        except (db.OperationalError, db.InterfaceError) as exc:  # the database went away: keep trading
            db.close_old_connections()
            log.warning(
                "strategy configuration not reloaded (database unavailable: %s); trying again later", exc
            )
