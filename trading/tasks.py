from django.utils import timezone

from alphapanda.batches import batch_task
from trading.checks import signal_check
from trading.services import signals_execute, ticks_process

execute_signals_task = batch_task(
    "trading.tasks.execute_signals",
    stage="trading",
    handle=lambda broker, message: signal_check(message),
    handle_all=lambda broker, messages: signals_execute(broker=broker, messages=messages, now=timezone.now()),
)
process_ticks_task = batch_task(
    "trading.tasks.process_ticks",
    stage="ticks",
    handle_all=lambda broker, messages: ticks_process(broker=broker, messages=messages, now=timezone.now()),
)
