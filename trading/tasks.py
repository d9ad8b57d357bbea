from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from alphapanda.batches import run_batch
from trading.services import signal_execute, ticks_process


@shared_task(name="trading.tasks.execute_signals")
def execute_signals_task(*, broker: str, topic: str, partition: int, batch_id: str, records: list, **kwargs):
    return run_batch(
        broker=broker,
        topic=topic,
        partition=partition,
        batch_id=batch_id,
        records=records,
        stage="trading",
        handle=lambda m: signal_execute(broker=broker, message=m, now=timezone.now()),
    )


@shared_task(name="trading.tasks.process_ticks")
def process_ticks_task(*, broker: str, topic: str, partition: int, batch_id: str, records: list, **kwargs):
    return run_batch(
        broker=broker,
        topic=topic,
        partition=partition,
        batch_id=batch_id,
        records=records,
        stage="ticks",
        handle_all=lambda ms: ticks_process(broker=broker, messages=ms, now=timezone.now()),
    )
