from django.utils import timezone

from alphapanda.batches import batch_task
from riskcheck.services import activity_refresh, signal_validate

validate_signals_task = batch_task(
    "riskcheck.tasks.validate_signals",
    stage="riskcheck",
    handle=lambda broker, message: signal_validate(broker=broker, message=message, now=timezone.now()),
    after=lambda broker: activity_refresh(broker=broker),
)
