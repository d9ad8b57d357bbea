from __future__ import annotations

from celery import shared_task

from alphapanda.batches import run_batch
from portfolio.services import fill_apply


@shared_task(name="portfolio.tasks.apply_fills")
def apply_fills_task(*, broker: str, topic: str, partition: int, batch_id: str, records: list, **kwargs):
    return run_batch(
        broker=broker,
        topic=topic,
        partition=partition,
        batch_id=batch_id,
        records=records,
        stage="portfolio",
        handle=lambda m: fill_apply(broker=broker, message=m),
    )
