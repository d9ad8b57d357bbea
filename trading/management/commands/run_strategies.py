import logging
import time

from django import db
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alphapanda import dlq, envelope, kafka, lifecycle, topics
from trading import selectors
from trading.publishing import signal_envelope, signal_topic_key
from trading.runner import StrategyRunner
from trading.strategies.base import StrategyConfigError

log = logging.getLogger("trading.strategies")
POLL_BATCH = 1000


class Command(BaseCommand):
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
        producer = kafka.new_producer()
        consumer.subscribe([topics.MARKET_TICKS])
        ticks = signals = 0
        reloaded = reported = time.monotonic()
        log.info("strategy runner started: brokers %s", ",".join(settings.ACTIVE_BROKERS))
        try:
            while not stop.is_set():
                first = consumer.poll(0.05)
                if first is not None:
                    batch = [first, *consumer.consume(POLL_BATCH - 1, 0)]
                    for msg in batch:
                        if msg.error():
                            log.warning("consume error: %s", msg.error())
                            continue
                        ticks += 1
                        signals += self._on_message(msg, runner, producer)
                    kafka.flush(producer)  # signals durable before the ticks' offsets pass
                    if offsets := kafka.next_offsets(batch):
                        consumer.commit(offsets=offsets, asynchronous=True)
                now = time.monotonic()
                if now - reloaded >= reload_every:
                    reloaded = now
                    self._reload(runner)
                if now - reported >= 10:
                    reported = now
                    log.info("ticks=%d signals=%d strategy_errors=%s", ticks, signals, dict(runner.errors))
        finally:
            kafka.flush(producer)
            consumer.close()
        log.info("strategy runner stopped after %d ticks, %d signals", ticks, signals)

    def _on_message(self, msg, runner: StrategyRunner, producer) -> int:
        try:
            message = envelope.decode(msg.topic(), msg.value())
        except envelope.InvalidMessage as exc:
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
            return 0
        out = runner.on_tick(message.payload)
        for broker, signal in out:
            topic, key = signal_topic_key(broker, signal)
            kafka.publish(producer, topic, key, signal_envelope(message.envelope, broker, signal))
        return len(out)

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
