"""The portfolio step applies each fill once, and the read model's instrument totals (what the risk
step reads as net positions) cover every strategy's position in the instrument, not only the batch's."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from alphapanda import envelope, events, redis_conn
from portfolio import read_model
from portfolio.models import Account, AppliedFill, Position
from portfolio.services import fills_apply
from tests.support.builders import RELIANCE, envelope_for, fill

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_redis")]
BROKER = "paper"


def _message(payload: events.Fill) -> envelope.Message:
    return envelope.Message(envelope_for(envelope.ORDER_FILLED, payload, broker=BROKER), payload)


def _fill(fill_id: str, strategy: str, quantity: int, side=events.Side.BUY) -> events.Fill:
    return replace(fill(fill_id=fill_id, quantity=quantity, side=side), strategy=strategy)


def test_totals_sum_every_strategy_in_the_instrument_and_a_redelivery_changes_nothing() -> None:
    first = [_message(_fill("a1", "alpha", 10))]
    fills_apply(broker=BROKER, messages=first)
    fills_apply(broker=BROKER, messages=[_message(_fill("b1", "beta", 5))])
    cash = Account.objects.get(broker=BROKER).cash

    fills_apply(broker=BROKER, messages=[*first, _message(_fill("b2", "beta", 3, events.Side.SELL))])

    assert read_model.book(BROKER).net == {RELIANCE: 12}  # alpha 10 + beta (5 - 3), alpha not in the batch
    quantities = dict(Position.objects.filter(broker=BROKER).values_list("strategy", "quantity"))
    assert quantities == {"alpha": 10, "beta": 2}
    assert AppliedFill.objects.filter(broker=BROKER).count() == 3
    account = Account.objects.get(broker=BROKER)
    assert account.cash > cash  # the sale of 3 only: the redelivered buy of 10 was not paid again
    assert account.version == 3


def test_a_batch_of_redeliveries_writes_nothing_and_mirrors_the_ledger_again() -> None:
    batch = [_message(_fill("a1", "alpha", 10)), _message(_fill("a2", "alpha", 4))]
    fills_apply(broker=BROKER, messages=batch)
    account = Account.objects.get(broker=BROKER)
    redis_conn.client().delete(read_model.net_key(BROKER))  # the totals lost since

    fills_apply(broker=BROKER, messages=batch)

    assert Account.objects.get(broker=BROKER).version == account.version
    assert Position.objects.get(broker=BROKER, strategy="alpha").quantity == 14
    assert read_model.book(BROKER).net == {RELIANCE: 14}
