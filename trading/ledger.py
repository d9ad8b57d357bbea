"""The trading ledger: orders and fills as rows, and the events they are published as.

Events are built from rows, on first emission and on replay alike, with ids derived from the
order, so a redelivered message re-emits exactly what it emitted the first time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from alphapanda import bulk, envelope, events, topics
from alphapanda.batches import Outgoing
from trading import selectors
from trading.models import Fill, Order
from trading.traders.paper import PricedFill

IST = ZoneInfo("Asia/Kolkata")


def trading_day(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns / 1e9, IST).date()


def _at(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, IST)


# -- events from ledger rows (first emission and replay alike) -------------------------------------
def order_event(order: Order) -> events.Order:
    return events.Order(
        order_id=order.order_id,
        signal_id=order.signal_id,
        strategy=order.strategy,
        instrument_token=order.instrument_token,
        symbol=order.symbol,
        exchange=order.exchange,
        side=events.Side(order.side),
        quantity=order.quantity,
        order_type=events.OrderType(order.order_type),
        product=events.Product(order.product),
        price=order.price,
        trigger_price=order.trigger_price,
        status=events.OrderStatus(order.status),
    )


def fill_event(fill: Fill) -> events.Fill:
    return events.Fill(
        fill_id=fill.fill_id,
        order_id=fill.order.order_id,
        strategy=fill.strategy,
        instrument_token=fill.instrument_token,
        symbol=fill.symbol,
        exchange=fill.exchange,
        side=events.Side(fill.side),
        quantity=fill.quantity,
        price=fill.price,
        product=events.Product(fill.product),
        charges=events.Charges(
            brokerage=fill.brokerage,
            stt=fill.stt,
            exchange=fill.exchange_charges,
            sebi=fill.sebi,
            stamp=fill.stamp,
            gst=fill.gst,
        ),
        ts=fill.ts_event,
    )


def _out(broker: str, stream: str, order: Order, type_: str, payload, *, event_id: str, cause: str, ts: int):
    env = envelope.build(
        type=type_,
        payload=payload,
        broker=broker,
        correlation_id=order.correlation_id,
        causation_id=cause,
        ts_event=ts,
        event_id=event_id,
    )
    key = topics.order_key(order.strategy, order.instrument_token)
    return Outgoing(topics.broker_topic(broker, stream), key, env)


def fill_outputs(broker: str, fills: Iterable[Fill]) -> list[Outgoing]:
    return [
        _out(
            broker,
            topics.ORDERS_FILLED,
            f.order,
            envelope.ORDER_FILLED,
            fill_event(f),
            event_id=f.fill_id,
            cause=f.source_event_id,
            ts=f.ts_event,
        )
        for f in fills
    ]


def failure_outputs(broker: str, order: Order) -> list[Outgoing]:
    failure = events.OrderFailure(
        order_id=order.order_id,
        signal_id=order.signal_id,
        strategy=order.strategy,
        instrument_token=order.instrument_token,
        reason=order.reason,
    )
    event_id = envelope.derive_id(order.order_id, "failed")
    return [
        _out(broker, topics.ORDERS_FAILED, order, envelope.ORDER_FAILED, failure,
             event_id=event_id, cause=order.signal_id, ts=order.ts_event)
    ]  # fmt: skip


def order_outputs(broker: str, order: Order, fills: Iterable[Fill] | None = None) -> list[Outgoing]:
    """Everything the execution of the order's signal emitted: placed, failed, and immediate fills
    (read from the ledger unless given)."""
    placed = envelope.derive_id(order.order_id, "placed")
    outputs = [
        _out(broker, topics.ORDERS_PLACED, order, envelope.ORDER_PLACED, order_event(order),
             event_id=placed, cause=order.signal_id, ts=order.ts_event)
    ]  # fmt: skip
    if order.status in (events.OrderStatus.REJECTED, events.OrderStatus.CANCELLED):
        outputs += failure_outputs(broker, order)
    if fills is None:
        fills = selectors.fills_caused_by(broker=broker, event_ids=[order.signal_id])
    return outputs + fill_outputs(broker, fills)


def fill_id(order: Order, key: str) -> str:
    return envelope.derive_id(order.order_id, key)


# -- writes ----------------------------------------------------------------------------------------
def fills_build(
    order: Order, fills: list[tuple[str, PricedFill]], *, source_event_id: str, ts_event: int, now: datetime
) -> list[Fill]:
    """Fills keyed `(key, fill)`, unsaved, rolled into the order (which the caller saves). The key
    makes the fill id, so the same fill recorded twice is refused by the ledger."""
    filled_value = order.average_price * order.filled_quantity
    built = []
    for key, priced in fills:
        built.append(
            bulk.new_row(
                Fill,
                broker=order.broker,
                fill_id=fill_id(order, key),
                order=order,
                correlation_id=order.correlation_id,
                strategy=order.strategy,
                instrument_token=order.instrument_token,
                symbol=order.symbol,
                exchange=order.exchange,
                side=order.side,
                quantity=priced.quantity,
                price=priced.price,
                product=order.product,
                brokerage=priced.charges.brokerage,
                stt=priced.charges.stt,
                exchange_charges=priced.charges.exchange,
                sebi=priced.charges.sebi,
                stamp=priced.charges.stamp,
                gst=priced.charges.gst,
                charges=priced.charges.total,
                source_event_id=source_event_id,
                ts_event=ts_event,
                filled_at=now,
            )
        )
        filled_value += priced.quantity * priced.price
        order.filled_quantity += priced.quantity
        order.brokerage_paid += priced.charges.brokerage
    if order.filled_quantity:
        order.average_price = (filled_value / order.filled_quantity).quantize(Decimal("0.0001"))
    order.updated_at = now
    return built


def fills_record(
    order: Order, fills: list[tuple[str, PricedFill]], *, source_event_id: str, ts_event: int, now: datetime
) -> list[Fill]:
    """`fills_build`, written (the caller holds the transaction and saves the order)."""
    return Fill.objects.bulk_create(
        fills_build(order, fills, source_event_id=source_event_id, ts_event=ts_event, now=now)
    )
