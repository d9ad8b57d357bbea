from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from alphapanda.batches import run_batch
from riskcheck.services import signal_validate


@shared_task(name="riskcheck.tasks.validate_signals")
def validate_signals_task(*, broker: str, topic: str, partition: int, batch_id: str, records: list, **kwargs):
    return run_batch(
        broker=broker,
        topic=topic,
        partition=partition,
        batch_id=batch_id,
        records=records,
        stage="riskcheck",
        handle=lambda m: signal_validate(broker=broker, message=m, now=timezone.now()),
    )
