"""Paper limit and stop orders rest in the ledger and fill when later ticks reach them (real DB, Redis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from alphapanda import envelope
from alphapanda.events import OrderType, Side
from tests.support import builders
from trading.models import Fill, Order
from trading.services import signal_execute, ticks_process

pytestmark = pytest.mark.integration


def _validated(sig):
    return envelope.decode(
        "paper.signals.validated", builders.encoded(envelope.SIGNAL_VALIDATED, sig, broker="paper")
    )


def _ticks(*ltps: str):
    return [
        envelope.decode("market.ticks", builders.encoded(envelope.TICK, builders.tick(ltp=p), broker=None))
        for p in ltps
    ]


def test_limit_buy_rests_then_fills_when_the_ask_reaches_it_and_a_replayed_tick_fills_nothing(
    instruments, redis_client, settings
):
    sig = builders.signal(order_type=OrderType.LIMIT, price=Decimal("1390.00"), quantity=5)
    out = signal_execute(broker="paper", message=_validated(sig), now=timezone.now())
    order = Order.objects.get()
    assert (order.status, order.filled_quantity) == ("OPEN", 0)
    assert [o.topic for o in out] == ["paper.orders.placed"]

    above, reach = _ticks("1395.00", "1389.90")  # asks 1395.05 (no), then 1389.95 (<= 1390: fills)
    assert ticks_process(broker="paper", messages=[above], now=timezone.now()) == []
    out = ticks_process(broker="paper", messages=[reach], now=timezone.now())
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_price) == ("COMPLETE", 5, Decimal("1389.95"))
    assert [o.topic for o in out] == ["paper.orders.filled"]

    replay = ticks_process(broker="paper", messages=[reach], now=timezone.now())
    assert [o.envelope.id for o in replay] == [o.envelope.id for o in out], "same events, same ids"
    assert Fill.objects.count() == 1


def test_stop_loss_sell_triggers_on_the_way_down_then_fills_as_a_limit(instruments, redis_client):
    sig = builders.signal(
        side=Side.SELL,
        order_type=OrderType.SL,
        trigger_price=Decimal("1380.00"),
        price=Decimal("1379.00"),
        quantity=2,
    )
    signal_execute(broker="paper", message=_validated(sig), now=timezone.now())
    assert Order.objects.get().status == "TRIGGER PENDING"
    ticks_process(broker="paper", messages=_ticks("1385.00", "1379.95"), now=timezone.now())
    order = Order.objects.get()
    assert order.triggered and order.status == "COMPLETE"
    assert order.average_price == Decimal("1379.9000")  # the best bid, above the 1379 limit


def test_limit_order_priced_off_the_tick_size_fails_with_the_reason(instruments, redis_client):
    sig = builders.signal(order_type=OrderType.LIMIT, price=Decimal("1400.03"), quantity=1)
    out = signal_execute(broker="paper", message=_validated(sig), now=timezone.now())
    order = Order.objects.get()
    assert order.status == "REJECTED" and "tick size" in order.reason
    assert [o.topic for o in out] == ["paper.orders.placed", "paper.orders.failed"]
