import logging

from django.core.management.base import BaseCommand

from alphapanda import lifecycle, process
from trading.kite.watcher import OrderWatcher

log = logging.getLogger("trading.zerodha")


class Command(BaseCommand):
    help = "Follow Zerodha orders (websocket order updates, and polling for missed ones) into fills."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--poll-every", type=float, default=5.0, help="seconds between order-book polls")

    def handle(self, *args, poll_every: float, **options) -> None:
        stop = lifecycle.stop_on_signals()
        process.started("kite-orders")
        log.info("zerodha order watcher started (poll every %.1fs)", poll_every)
        OrderWatcher(poll_every_s=poll_every).run(stop)
        log.info("zerodha order watcher stopped")
