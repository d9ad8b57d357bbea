"""The tick step's reads, in SQL: the resting orders of the instruments ticked, and the fills that
events already caused (a redelivery's to emit again); one broker's rows only."""

from __future__ import annotations

import pytest

from alphapanda import bulk
from tests.support import ledger_rows
from trading import ledger, selectors

pytestmark = pytest.mark.django_db


def _stored(n: int, *, broker: str = "paper", status: str = "OPEN", token: int = 738561):
    order = ledger_rows.order(n)
    order.broker, order.status, order.instrument_token = broker, status, token
    bulk.insert_rows([order])
    return order


def test_open_orders_are_this_brokers_resting_ones_in_the_instruments_oldest_first() -> None:
    later, earlier = _stored(1), _stored(2)
    later.created_at = later.created_at.replace(minute=5)
    later.save()
    _stored(3, status="TRIGGER PENDING", token=2885)
    _stored(4, status="COMPLETE")
    _stored(5, broker="zerodha")
    _stored(6, token=999)

    found = selectors.open_orders(broker="paper", tokens={738561, 2885})

    assert [o.order_id for o in found] == ["o2", "o3", "o1"]
    assert found[0].pk == earlier.pk and found[0].price == earlier.price
    assert selectors.open_orders(broker="paper", tokens=set()) == []


def test_fills_caused_by_are_the_events_fills_in_recorded_order_with_their_orders() -> None:
    order, other = _stored(1), _stored(2, broker="zerodha")
    fills = [ledger_rows.fill(order, 1), ledger_rows.fill(order, 2), ledger_rows.fill(other, 3)]
    fills[1].source_event_id = "tick-9"
    fills[2].broker, fills[2].source_event_id = "zerodha", "s1"  # the same event id on another broker
    bulk.insert_rows(fills)

    caused = selectors.fills_caused_by(broker="paper", event_ids=["s1", "tick-9", "never"])

    assert [(f.fill_id, f.order.order_id) for f in caused] == [("f1", "o1"), ("f2", "o1")]
    assert [f.fill_id for f in selectors.fills_caused_by(broker="zerodha", event_ids=["s1", "tick-9"])] == [
        "f3"
    ]
    assert selectors.fills_caused_by(broker="paper", event_ids=[]) == []


def test_a_redelivered_signal_emits_again_the_fills_its_order_made_and_no_others() -> None:
    order = _stored(1, status="COMPLETE")
    fills = [ledger_rows.fill(order, 1), ledger_rows.fill(order, 2), ledger_rows.fill(_stored(2), 3)]
    fills[2].broker, fills[2].source_event_id = "zerodha", "s1"  # the same event id on another broker
    bulk.insert_rows(fills)

    outputs = ledger.order_outputs("paper", order)  # fills not given: read from the ledger

    assert [o.topic for o in outputs] == ["paper.orders.placed", "paper.orders.filled", "paper.orders.filled"]
    assert [o.envelope.id for o in outputs[1:]] == ["f1", "f2"]
