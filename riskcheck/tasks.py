from django.utils import timezone

from alphapanda.batches import batch_task
from riskcheck.services import signals_validate
from trading.checks import signal_check

validate_signals_task = batch_task(
    "riskcheck.tasks.validate_signals",
    stage="riskcheck",
    handle=lambda broker, message: signal_check(message),
    handle_all=lambda broker, messages: signals_validate(
        broker=broker, messages=messages, now=timezone.now()
    ),
)
