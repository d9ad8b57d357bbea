import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from alphapanda import kafka, lifecycle, redis_conn
from alphapanda.bridge import Bridge
from alphapanda.celery import app

log = logging.getLogger("alphapanda.bridge")


class Command(BaseCommand):
    help = "Hand the active brokers' topics to Celery, one batch per partition, committing after completion."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--group", default="alphapanda-bridge", help="Kafka consumer group")
        parser.add_argument("--report-every", type=float, default=10.0, help="seconds between progress lines")

    def handle(self, *args, group: str, report_every: float, **options) -> None:
        config = settings.CONFIG
        bridge = Bridge(
            brokers=settings.ACTIVE_BROKERS,
            consumer=kafka.consumer(group),
            producer=kafka.new_producer(),
            redis_client=redis_conn.client(),
            celery_app=app,
            batch_timeout_s=config.bridge_batch_timeout_s,
            max_batch=config.bridge_max_batch,
        )
        bridge.stop_event = lifecycle.stop_on_signals()
        last = time.monotonic()
        step = bridge.step

        def step_with_report() -> None:
            nonlocal last
            step()
            if time.monotonic() - last >= report_every:
                last = time.monotonic()
                s = bridge.stats
                log.info(
                    "consumed=%d dispatched=%d committed=%d dead_lettered=%d resent=%d in_flight=%d",
                    s.consumed,
                    s.dispatched,
                    s.committed,
                    s.dead_lettered,
                    s.resent,
                    bridge.inflight.in_flight_count(),
                )

        bridge.step = step_with_report
        bridge.run()
        log.info("bridge stopped")
