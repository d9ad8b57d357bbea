import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from alphapanda import kafka, lifecycle, process, redis_conn
from alphapanda.bridge import Bridge
from alphapanda.celery import app

log = logging.getLogger("alphapanda.bridge")


class Command(BaseCommand):
    help = (
        "Hand the active brokers' topics to Celery, one batch in flight per partition (a topic's ready "
        "partitions as one task), committing after completion."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--group", default="alphapanda-bridge", help="Kafka consumer group")
        parser.add_argument("--report-every", type=float, default=10.0, help="seconds between progress lines")

    def handle(self, *args, group: str, report_every: float, **options) -> None:
        process.started("bridge")
        bridge = Bridge(
            brokers=settings.ACTIVE_BROKERS,
            consumer=kafka.consumer(group),
            producer=kafka.new_producer(),
            redis_client=redis_conn.client(),
            celery_app=app,
            batch_timeout_s=settings.CONFIG.bridge_batch_timeout_s,
            queue_timeout_s=settings.CONFIG.bridge_queue_timeout_s,
            max_batch=settings.CONFIG.bridge_max_batch,
            tasks_per_topic=settings.CONFIG.bridge_tasks_per_topic,
            report_every_s=report_every,
        )
        bridge.stop_event = lifecycle.stop_on_signals()
        bridge.run()
        bridge.report()
        log.info("bridge stopped")
