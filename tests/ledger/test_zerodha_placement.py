"""A threaded worker places zerodha orders one at a time: Kite's per-second limit is counted when a
placement takes its slot, so two threads' sends must not overlap (they could land in Kite's next
second together with its own placements, and be refused with 429)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from alphapanda import envelope
from tests.support import builders
from trading.kite import orders
from trading.models import Order
from trading.services import _zerodha_open
from trading.traders.zerodha import Placement

pytestmark = pytest.mark.django_db(transaction=True)


class _Kite:
    """Stands in for ZerodhaTrader: records how many placements are under way at once."""

    lock = threading.Lock()
    running = 0
    most = 0

    def __init__(self, *args, **kwargs) -> None:
        pass

    def place(self, request, *, resume: bool) -> Placement:
        with _Kite.lock:
            _Kite.running += 1
            _Kite.most = max(_Kite.most, _Kite.running)
        time.sleep(0.05)
        with _Kite.lock:
            _Kite.running -= 1
        return Placement(broker_order_id=f"K-{request.order_id[:8]}")


def test_threads_place_zerodha_orders_one_at_a_time(monkeypatch) -> None:
    monkeypatch.setattr(_Kite, "most", 0)
    monkeypatch.setattr(orders, "ZerodhaTrader", _Kite)
    monkeypatch.setattr(orders, "limiter", lambda: None)
    monkeypatch.setattr(orders.kite_session, "client", lambda: None)
    monkeypatch.setattr(orders.kite_session, "paused_reason", lambda: None)
    placed = []
    for n in range(4):
        value = builders.encoded(
            envelope.SIGNAL_VALIDATED, builders.signal(strategy=f"z-{n}"), broker="zerodha"
        )
        placed.append(_zerodha_open(envelope.decode("zerodha.signals.validated", value), timezone.now()))

    def place(order: Order) -> None:
        try:
            orders.order_place(order=order, now=timezone.now())
        finally:
            connection.close()

    threads = [threading.Thread(target=place, args=(order,)) for order in placed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert _Kite.most == 1
    assert sorted(Order.objects.values_list("broker_order_id", flat=True)) == sorted(
        f"K-{order.order_id[:8]}" for order in placed
    )
