"""`bulk.update_rows` and `bulk.insert_rows` against PostgreSQL: the fields named change on exactly the
rows given; inserted rows read back as `bulk_create` would have stored them, orders with their fills too."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from alphapanda import bulk
from portfolio.models import Position as PositionRow
from tests.support import ledger_rows
from trading.models import Fill, Order, Strategy
from trading.services import _paper_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_redis")]


def _position(strategy: str, token: int, **values: object) -> PositionRow:
    return PositionRow.objects.create(
        broker="paper", strategy=strategy, instrument_token=token, symbol=f"S{token}", **values
    )


def test_each_row_gets_its_own_values_and_nothing_else_changes() -> None:
    rows = [_position("mom", token, quantity=1, cost=100, realized=5) for token in range(1, 301)]
    untouched = _position("other", 1, quantity=7, cost=700)
    for n, row in enumerate(rows):
        row.quantity, row.cost, row.product, row.updated_at = -n, -(2**40) - n, "CNC", ledger_rows.T1
        row.realized = 999  # set but not named: must not be written

    assert bulk.update_rows(rows, ["quantity", "cost", "product", "updated_at"]) == 300

    stored = {r.instrument_token: r for r in PositionRow.objects.filter(strategy="mom")}
    for n, token in enumerate(range(1, 301)):
        assert (stored[token].quantity, stored[token].cost) == (-n, -(2**40) - n)
        assert (stored[token].product, stored[token].updated_at, stored[token].realized) == (
            "CNC",
            ledger_rows.T1,
            5,
        )
    untouched.refresh_from_db()
    assert (untouched.quantity, untouched.cost, untouched.product) == (7, 700, "MIS")


def test_no_rows_writes_nothing() -> None:
    assert bulk.update_rows([], ["quantity"]) == 0


def test_insert_rows_stores_what_bulk_create_would_and_sets_keys_and_relations() -> None:
    ours = [ledger_rows.order(n) for n in range(3)]
    theirs = [ledger_rows.order(n) for n in range(3, 6)]
    bulk.insert_rows(ours)
    Order.objects.bulk_create(theirs)
    bulk.insert_rows([ledger_rows.fill(o, n) for n, o in enumerate(ours)])

    assert all(o.pk and not o._state.adding for o in ours)
    stored = {o.order_id: model_to_dict(o, exclude=["id", "order_id", "signal_id", "correlation_id",
                                                     "quantity", "ts_event", "last_tick_ts", "triggered"])
              for o in Order.objects.all()}  # fmt: skip
    assert len({str(v) for v in stored.values()}) == 1  # every other column alike, however written
    assert list(Order.objects.filter(pk__in=[o.pk for o in ours]).order_by("pk").values_list("order_id", "quantity",
                "triggered")) == [("o0", 1, False), ("o1", 2, True), ("o2", 3, False)]  # fmt: skip
    fills = list(Fill.objects.select_related("order").order_by("fill_id"))
    assert [(f.order.order_id, f.charges, f.gst) for f in fills] == [
        ("o0", Decimal("0.00"), Decimal("0.00")),
        ("o1", Decimal("0.06"), Decimal("0.01")),
        ("o2", Decimal("0.12"), Decimal("0.02")),
    ]


def test_insert_rows_of_a_duplicate_key_raises_integrity_error_and_stores_nothing() -> None:
    bulk.insert_rows([ledger_rows.order(1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_rows([ledger_rows.order(2), ledger_rows.order(1)])
    assert list(Order.objects.values_list("order_id", flat=True)) == ["o1"]


def test_insert_rows_refuses_a_model_with_columns_it_does_not_convert() -> None:
    with pytest.raises(TypeError, match=r"bulk: trading\.Strategy has columns it does not convert: .*params"):
        bulk.insert_rows([Strategy(name="x", kind="rsi", params={}, brokers=["paper"])])


def test_orders_and_their_fills_in_one_statement_each_fill_under_its_own_order() -> None:
    orders = [ledger_rows.order(n) for n in range(3)]
    fills = [
        ledger_rows.fill(orders[0], 0),
        ledger_rows.fill(orders[2], 1),
        ledger_rows.fill(orders[2], 2),
    ]  # the second order: none

    _paper_record([(orders[0], fills[:1]), (orders[1], []), (orders[2], fills[1:])])

    assert [o.pk for o in orders] == list(Order.objects.order_by("order_id").values_list("pk", flat=True))
    assert all(f.order is orders[0] or f.order is orders[2] for f in fills)  # the objects kept
    assert [f.order_id for f in fills] == [orders[0].pk, orders[2].pk, orders[2].pk]
    stored = Fill.objects.order_by("fill_id").values_list("fill_id", "order__order_id", "charges")
    assert list(stored) == [
        ("f0", "o0", Decimal("0.00")),
        ("f1", "o2", Decimal("0.06")),
        ("f2", "o2", Decimal("0.12")),
    ]


def test_orders_with_a_fill_already_in_the_ledger_store_nothing_at_all() -> None:
    earlier = ledger_rows.order(9)
    bulk.insert_rows([earlier])
    bulk.insert_rows([ledger_rows.fill(earlier, 1)])
    order = ledger_rows.order(1)

    with pytest.raises(IntegrityError), transaction.atomic():
        _paper_record([(order, [ledger_rows.fill(order, 1)])])  # fill id f1 again

    assert list(Order.objects.values_list("order_id", flat=True)) == ["o9"]


def test_insert_rows_keeps_text_decimals_big_integers_and_instants_exactly() -> None:
    ist = datetime(2026, 1, 5, 9, 30, 7, 654321, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata"))
    odd = ledger_rows.order(7)
    odd.reason, odd.symbol = 'a "quoted" \\ back\'slash, ₹ é\nline %s {x}', "M&M"
    odd.price, odd.ts_event, odd.created_at = Decimal("1234567.8901"), 2**63 - 1, ist

    bulk.insert_rows([odd])

    stored = Order.objects.get(pk=odd.pk)
    assert (stored.reason, stored.symbol) == (odd.reason, "M&M")
    assert (stored.price, stored.ts_event, stored.created_at) == (Decimal("1234567.8901"), 2**63 - 1, ist)
    assert stored.trigger_price is None


def _attributes(row: Order | Fill | Strategy) -> dict[str, object]:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}


def test_new_row_is_the_row_the_orm_builds_defaults_and_relation_included() -> None:
    order = ledger_rows.order(3)
    order.pk = 41
    given = {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields
             if f.attname not in ("id", "filled_quantity", "average_price", "brokerage_paid", "tag")}  # fmt: skip

    built = bulk.new_row(Order, **given)
    fill = bulk.new_row(Fill, order=order, fill_id="f1", price=Decimal("1.5"))

    assert _attributes(built) == _attributes(Order(**given))
    assert built._state.adding and built._state.db is None and built.pk is None
    assert (built.filled_quantity, built.average_price, built.tag) == (0, 0, "")
    assert fill.order is order and fill.order_id == 41
    assert _attributes(fill) == _attributes(Fill(order=order, fill_id="f1", price=Decimal("1.5")))
    for name in ("colour", "_state", "fills"):  # not a field; the row's state; a reverse relation
        with pytest.raises(TypeError, match=f"Order has no field {name}"):
            bulk.new_row(Order, **{name: "red"})


def test_new_row_gives_each_row_its_own_mutable_default() -> None:
    first, second = bulk.new_row(Strategy, name="a"), bulk.new_row(Strategy, name="b")
    first.params["window"] = 20
    first.brokers.append("paper")
    assert (second.params, second.brokers) == ({}, [])
    assert _attributes(second) == _attributes(Strategy(name="b"))


def test_new_row_saves_and_reads_back_as_a_row_built_the_usual_way() -> None:
    bulk.insert_rows([bulk.new_row(Order, **_attributes(ledger_rows.order(5)) | {"id": None})])
    assert Order.objects.get(order_id="o5").price == Decimal("1410.05")
