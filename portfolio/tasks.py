from alphapanda.batches import batch_task
from portfolio.services import fill_apply

apply_fills_task = batch_task(
    "portfolio.tasks.apply_fills",
    stage="portfolio",
    handle=lambda broker, message: fill_apply(broker=broker, message=message),
)
