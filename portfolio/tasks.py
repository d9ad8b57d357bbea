from alphapanda.batches import batch_task
from portfolio.services import fills_apply

apply_fills_task = batch_task(
    "portfolio.tasks.apply_fills",
    stage="portfolio",
    handle_all=lambda broker, messages: fills_apply(broker=broker, messages=messages),
)
