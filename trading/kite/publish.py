"""Publishing what Kite's order updates caused, from whichever process received them."""

from __future__ import annotations

from django.utils import timezone

from alphapanda import kafka, metrics
from alphapanda.batches import Outgoing, publish_outputs
from trading.kite.orders import order_update_apply
from trading.services import activity_refresh


def publish(outputs: list[Outgoing]) -> None:
    if not outputs:
        return
    producer = kafka.producer()
    per_topic = publish_outputs(producer, outputs)
    kafka.flush(producer)
    metrics.count_outputs("kite-updates", per_topic)


def order_update_receive(*, data: dict, source: str) -> int:
    """Apply one update and publish its events before returning (so Kite may retry on failure)."""
    outputs = order_update_apply(data=data, source=source, now=timezone.now())
    publish(outputs)
    if outputs:
        activity_refresh(broker="zerodha")
    return len(outputs)
