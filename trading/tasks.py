from django.utils import timezone

from alphapanda.batches import batch_task
from trading.services import activity_refresh, signal_execute, ticks_process

execute_signals_task = batch_task(
    "trading.tasks.execute_signals",
    stage="trading",
    handle=lambda broker, message: signal_execute(broker=broker, message=message, now=timezone.now()),
    after=lambda broker: activity_refresh(broker=broker),
)
process_ticks_task = batch_task(
    "trading.tasks.process_ticks",
    stage="ticks",
    handle_all=lambda broker, messages: ticks_process(broker=broker, messages=messages, now=timezone.now()),
    after=lambda broker: activity_refresh(broker=broker),
)
