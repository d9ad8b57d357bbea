"""Trading writes: execute validated signals, match resting orders on ticks, record the ledger.

Idempotent by event id against the ledger: an order is unique per (broker, signal id) and fills
remember the event that caused them, so a redelivered message re-emits the same events (same
derived ids) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from alphapanda import envelope, events, topics
from alphapanda.batches import Outgoing
from alphapanda.errors import BadInput
from portfolio import read_model
from trading import selectors
from trading.matching import RestingOrder
from trading.models import Fill, Order
from trading.traders import paper

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


def _fill_outputs(broker: str, fills: Iterable[Fill]) -> list[Outgoing]:
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


def _order_outputs(broker: str, order: Order) -> list[Outgoing]:
    outputs = [
        _out(
            broker,
            topics.ORDERS_PLACED,
            order,
            envelope.ORDER_PLACED,
            order_event(order),
            event_id=envelope.derive_id(order.order_id, "placed"),
            cause=order.signal_id,
            ts=order.ts_event,
        )
    ]
    if order.status == events.OrderStatus.REJECTED:
        failure = events.OrderFailure(
            order_id=order.order_id,
            signal_id=order.signal_id,
            strategy=order.strategy,
            instrument_token=order.instrument_token,
            reason=order.reason,
        )
        outputs.append(
            _out(
                broker,
                topics.ORDERS_FAILED,
                order,
                envelope.ORDER_FAILED,
                failure,
                event_id=envelope.derive_id(order.order_id, "failed"),
                cause=order.signal_id,
                ts=order.ts_event,
            )
        )
    fills = Fill.objects.filter(broker=broker, source_event_id=order.signal_id).select_related("order")
    return outputs + _fill_outputs(broker, fills.order_by("id"))


# -- writes ----------------------------------------------------------------------------------------
def _record_fills(
    order: Order, execution: paper.Execution, *, source_event_id: str, ts_event: int, now: datetime
) -> list[Fill]:
    """Apply an execution to the order row and write its fills (caller holds the transaction)."""
    seq = order.fills.count() if order.filled_quantity else 0
    filled_value = order.average_price * order.filled_quantity
    created = []
    for n, priced in enumerate(execution.fills, start=seq):
        fill = Fill.objects.create(
            broker=order.broker,
            fill_id=envelope.derive_id(order.order_id, f"fill/{n}"),
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
        created.append(fill)
        filled_value += priced.quantity * priced.price
        order.filled_quantity += priced.quantity
    if order.filled_quantity:
        order.average_price = (filled_value / order.filled_quantity).quantize(Decimal("0.0001"))
    order.brokerage_paid += execution.brokerage
    order.status = execution.status.value
    order.triggered = execution.triggered or order.triggered
    order.reason = execution.reason
    order.updated_at = now
    order.save()
    return created


def signal_execute(*, broker: str, message: envelope.Message, now: datetime) -> list[Outgoing]:
    """Turn one validated signal into an order, its fills or its failure; replay-safe."""
    existing = Order.objects.filter(broker=broker, signal_id=message.id).first()
    if existing is not None:
        return _order_outputs(broker, existing)
    signal: events.Signal = message.payload
    instrument = selectors.instrument_get(signal.instrument_token)
    if instrument is None:
        raise BadInput(f"unknown instrument token {signal.instrument_token}")
    if broker != "paper":
        raise BadInput(f"no trader for broker {broker!r} in this build")
    execution = paper.execute(
        signal, instrument, slippage_bps=settings.CONFIG.paper_slippage_bps, on=trading_day(signal.ts)
    )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                broker=broker,
                order_id=envelope.derive_id(message.id, "order"),
                signal_id=message.id,
                correlation_id=message.envelope.correlation_id,
                strategy=signal.strategy,
                instrument_token=signal.instrument_token,
                symbol=signal.symbol,
                exchange=signal.exchange,
                side=signal.side.value,
                quantity=signal.quantity,
                order_type=signal.order_type.value,
                product=signal.product.value,
                price=signal.price,
                trigger_price=signal.trigger_price,
                status=execution.status.value,
                ts_event=message.envelope.ts_event,
                last_tick_ts=signal.ts,
                created_at=now,
                updated_at=now,
            )
            _record_fills(
                order, execution, source_event_id=message.id, ts_event=message.envelope.ts_event, now=now
            )
    except IntegrityError:  # the same signal, executed concurrently by a redelivery: it won
        order = Order.objects.get(broker=broker, signal_id=message.id)
    read_model.activity_set(broker, orders=_count_orders(broker), fills=_count_fills(broker))
    return _order_outputs(broker, order)


def _count_orders(broker: str) -> int:
    return Order.objects.filter(broker=broker).count()


def _count_fills(broker: str) -> int:
    return Fill.objects.filter(broker=broker).count()


def _resting(order: Order) -> RestingOrder:
    return RestingOrder(
        events.Side(order.side),
        order.remaining,
        events.OrderType(order.order_type),
        order.price,
        order.trigger_price,
        order.triggered,
    )


def ticks_process(*, broker: str, messages: list[envelope.Message], now: datetime) -> list[Outgoing]:
    """Mark the broker's portfolio to market and, on paper, let resting orders meet the ticks."""
    ticks = [(m.id, m.payload) for m in messages]
    read_model.marks_set(broker, {t.instrument_token: t.ltp for _, t in ticks})
    if broker != "paper":
        return []
    tick_ids = [tick_id for tick_id, _ in ticks]
    done = Fill.objects.filter(broker=broker, source_event_id__in=tick_ids).select_related("order")
    outputs = _fill_outputs(broker, done.order_by("id"))  # replay of ticks already matched
    created: list[Fill] = []
    for order in selectors.open_orders(broker=broker, tokens={t.instrument_token for _, t in ticks}):
        created += _match_order(order, ticks, now=now)
    if created:
        outputs += _fill_outputs(broker, created)
        read_model.activity_set(broker, fills=_count_fills(broker))
    return outputs


def _match_order(order: Order, ticks: list[tuple[str, events.Tick]], *, now: datetime) -> list[Fill]:
    instrument = selectors.instrument_get(order.instrument_token)
    created: list[Fill] = []
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        for tick_id, tick in ticks:
            if tick.instrument_token != order.instrument_token or tick.ts <= order.last_tick_ts:
                continue  # another instrument, or a tick this order has already met
            if order.status not in selectors.OPEN_STATUSES:
                break
            execution = paper.on_tick(
                _resting(order),
                tick,
                instrument,
                product=events.Product(order.product),
                brokerage_so_far=order.brokerage_paid,
                slippage_bps=settings.CONFIG.paper_slippage_bps,
                on=trading_day(tick.ts),
            )
            order.last_tick_ts = tick.ts
            created += _record_fills(order, execution, source_event_id=tick_id, ts_event=tick.ts, now=now)
    return created
