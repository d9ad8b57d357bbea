"""Watching Zerodha orders: websocket order updates as they come, and polling for what was missed.

Either path applies the same idempotent update, so a postback, a websocket message and a poll for
the same change make one set of fills. A new login (a new token) reconnects the websocket.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from django.db.models import F, Q
from kiteconnect import KiteTicker, exceptions

from alphapanda.events import OrderStatus
from trading.kite import session as kite_session
from trading.kite import ticker as kite_ticker
from trading.kite.orders import TERMINAL
from trading.kite.publish import order_update_receive
from trading.models import Order

log = logging.getLogger("trading.zerodha")


def orders_to_watch() -> dict[str, Order]:
    """Our zerodha orders that Kite may still change: open ones, and finished ones short of fills."""
    unsettled = ~Q(status__in=TERMINAL) | Q(
        status=OrderStatus.COMPLETE.value, filled_quantity__lt=F("quantity")
    )
    live = Order.objects.filter(unsettled, broker="zerodha").exclude(broker_order_id="")
    return {o.broker_order_id: o for o in live}


class OrderWatcher:
    def __init__(self, *, poll_every_s: float) -> None:
        self.poll_every_s = poll_every_s
        self.updates: queue.Queue = queue.Queue()
        self._kws: KiteTicker | None = None
        self._token: str | None = None

    def run(self, stop: threading.Event) -> None:
        next_poll = 0.0
        waiting_logged = 0.0
        while not stop.is_set():
            session = kite_session.session_current()
            if session is None:
                if time.monotonic() - waiting_logged > 60:
                    waiting_logged = time.monotonic()
                    log.warning("order watcher waiting: %s", kite_session.paused_reason())
                self._disconnect()
                stop.wait(1.0)
                continue
            if session.access_token != self._token:
                self._connect(session.access_token)
            self._drain()
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + self.poll_every_s
                self.poll()
        self._disconnect()

    def _connect(self, token: str) -> None:
        self._disconnect()
        kws = kite_ticker.ticker(token)
        kws.on_order_update = lambda ws, data: self.updates.put(data)
        kws.on_connect = lambda ws, response: log.info("order watcher: websocket connected")
        kite_ticker.start(kws)
        self._kws, self._token = kws, token

    def _disconnect(self) -> None:
        if self._kws is not None:
            kite_ticker.call(self._kws.close)
            self._kws, self._token = None, None

    def _drain(self) -> None:
        try:
            data = self.updates.get(timeout=0.2)
        except queue.Empty:
            return
        while True:
            self._apply(data, "websocket")
            try:
                data = self.updates.get_nowait()
            except queue.Empty:
                return

    def poll(self) -> int:
        """Compare Kite's order book with the orders we still watch; apply what changed."""
        watched = orders_to_watch()
        if not watched:
            return 0
        try:
            book = kite_session.client().orders()
        except (exceptions.KiteException, OSError, kite_session.NoSession) as exc:
            log.warning("order poll failed: %s", exc)
            return 0
        changed = 0
        for data in book:
            ours = watched.get(str(data.get("order_id")))
            if ours and (
                data.get("status") != ours.status
                or int(data.get("filled_quantity") or 0) > ours.filled_quantity
            ):
                changed += self._apply(data, "poll")
        return changed

    def _apply(self, data: dict, source: str) -> int:
        try:
            return order_update_receive(data=data, source=source)
        except Exception:  # one bad update must not stop the watcher; the next poll retries it
            log.exception("order update from %s for %s failed", source, data.get("order_id"))
            return 0
