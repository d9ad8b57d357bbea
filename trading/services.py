"""Trading writes: execute validated signals, match resting orders on ticks, record the ledger.

Idempotent by event id against the ledger: an order is unique per (broker, signal id) and fills
remember the event that caused them, so a redelivered message re-emits the same events (same
derived ids) and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from alphapanda import bulk, envelope, events
from alphapanda.batches import Outgoing
from portfolio import read_model
from portfolio.services import book_current, pnl_record
from riskcheck.breakers_service import breakers_check
from trading import ledger, selectors
from trading.checks import signal_check
from trading.kite import orders as zerodha_orders
from trading.matching import RestingOrder
from trading.models import Fill, Order
from trading.square_off import mis_square_off
from trading.traders import paper
from trading.traders.zerodha import tag_for


def _apply_execution(
    order: Order, execution: paper.Execution, *, source_event_id: str, ts_event: int, now: datetime
) -> list[Fill]:
    """A paper execution: its fills, numbered after the order's earlier ones, and the new status."""
    seq = order.fills.count() if order.filled_quantity else 0
    keyed = [(f"fill/{n}", f) for n, f in enumerate(execution.fills, start=seq)]
    created = ledger.fills_record(order, keyed, source_event_id=source_event_id, ts_event=ts_event, now=now)
    order.status = execution.status.value
    order.triggered = execution.triggered or order.triggered
    order.reason = execution.reason
    order.save()
    return created


def _new_order(broker: str, message: envelope.Message, *, status: events.OrderStatus, now: datetime) -> Order:
    signal: events.Signal = message.payload
    order_id = envelope.derive_id(message.id, "order")
    return bulk.new_row(
        Order,
        broker=broker,
        order_id=order_id,
        signal_id=message.id,
        tag=tag_for(order_id) if broker == "zerodha" else "",
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
        status=status.value,
        ts_event=message.envelope.ts_event,
        last_tick_ts=signal.ts,
        created_at=now,
        updated_at=now,
    )


def signal_execute(*, broker: str, message: envelope.Message, now: datetime) -> list[Outgoing]:
    """Turn one validated signal into an order, its fills or its failure; replay-safe."""
    signal_check(message)
    order = Order.objects.filter(broker=broker, signal_id=message.id).first()
    if order is None:
        try:
            order = _paper_open(message, now) if broker == "paper" else _zerodha_open(message, now)
        except IntegrityError:  # the same signal, executed concurrently by a redelivery: it won
            order = Order.objects.get(broker=broker, signal_id=message.id)
    if broker == "zerodha":
        order = zerodha_orders.order_place(order=order, now=now)  # no-op unless still to be placed
    return ledger.order_outputs(broker, order)


def signals_execute(*, broker: str, messages: list[envelope.Message], now: datetime) -> list[Outgoing]:
    """A batch of validated signals: on paper, every new order and its fills in two inserts; each
    signal executed once (a redelivery re-emits what it emitted). Zerodha goes one order at a time,
    as Kite takes them."""
    unique = list({m.id: m for m in messages}.values())
    if broker != "paper":
        return [out for m in unique for out in signal_execute(broker=broker, message=m, now=now)]
    orders = {
        o.signal_id: o for o in Order.objects.filter(broker=broker, signal_id__in=[m.id for m in unique])
    }
    fills: dict[str, list[Fill]] = {}
    replayed = list(orders)
    built = [_paper_build(m, now) for m in unique if m.id not in orders]
    if built:
        try:
            _paper_record(built)
        except IntegrityError:  # a redelivery executed some of them concurrently: one at a time then
            return [out for m in unique for out in signal_execute(broker=broker, message=m, now=now)]
        for order, order_fills in built:
            orders[order.signal_id], fills[order.signal_id] = order, order_fills
        read_model.activity_add(broker, orders=len(built), fills=sum(len(f) for _, f in built))
    if replayed:
        for fill in selectors.fills_caused_by(broker=broker, event_ids=replayed):
            fills.setdefault(fill.source_event_id, []).append(fill)
    return [out for m in unique for out in ledger.order_outputs(broker, orders[m.id], fills.get(m.id, []))]


def _paper_record(built: list[tuple[Order, list[Fill]]]) -> None:
    """New paper orders and their fills in one statement (its own transaction, so all or none), the
    orders' keys set; each fill finds its order by the signal that caused both. Two inserts in a
    transaction were four round trips (BEGIN, COMMIT), most of a small batch's time in the database."""
    orders = [order for order, _ in built]
    fills = [fill for _, order_fills in built for fill in order_fills]
    sql, params = bulk.insert_statement(orders, returning=["id", "signal_id"])
    if fills:
        parent = bulk.Parent(field="order", name="o", match="signal_id", by="source_event_id")
        fill_sql, fill_params = bulk.insert_statement(fills, returning=["id"], parent=parent)
        sql, params = (
            f"WITH o AS ({sql}), f AS ({fill_sql}) SELECT id, signal_id FROM o",
            [*params, *fill_params],
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = {signal_id: pk for pk, signal_id in cursor.fetchall()}
    for order in orders:
        bulk.saved(order, keys[order.signal_id])
    bulk.related_keys_take(fills, [Fill.order.field])


def _paper_build(message: envelope.Message, now: datetime) -> tuple[Order, list[Fill]]:
    """The order a validated signal makes on paper, with its immediate fills, unsaved."""
    signal: events.Signal = message.payload
    execution = paper.execute(
        signal,
        selectors.instrument_get(signal.instrument_token),
        slippage_bps=settings.CONFIG.paper_slippage_bps,
        on=ledger.trading_day(signal.ts),
    )
    order = _new_order("paper", message, status=execution.status, now=now)
    keyed = [(f"fill/{n}", f) for n, f in enumerate(execution.fills)]
    fills = ledger.fills_build(
        order, keyed, source_event_id=message.id, ts_event=message.envelope.ts_event, now=now
    )
    order.triggered, order.reason = execution.triggered, execution.reason
    return order, fills


def _paper_open(message: envelope.Message, now: datetime) -> Order:
    order, fills = _paper_build(message, now)
    with transaction.atomic():
        order.save(force_insert=True)
        Fill.objects.bulk_create(fills)
    read_model.activity_add("paper", orders=1, fills=len(fills))
    return order


def _zerodha_open(message: envelope.Message, now: datetime) -> Order:
    """Recorded (committed) before Kite hears of it, so a crash mid-placement is found again by tag."""
    order = _new_order("zerodha", message, status=events.OrderStatus.PENDING, now=now)
    order.save(force_insert=True)
    read_model.activity_add("zerodha", orders=1)
    return order


def activity_refresh(*, broker: str) -> None:
    """The read model's order and fill counts, recounted from the ledger (Kite's order updates)."""
    read_model.activity_set(
        broker,
        orders=Order.objects.filter(broker=broker).count(),
        fills=Fill.objects.filter(broker=broker).count(),
    )


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
    # The marks, and one read shared by the breakers and the square-off, in one round trip; a Redis
    # restarted empty is whole again here.
    equity = book_current(broker=broker, marks={t.instrument_token: t.ltp for _, t in ticks}).equity
    pnl_record(broker=broker, now=now)  # reads the whole snapshot, at most every PNL_EVERY_S
    breakers_check(broker=broker, now=now, equity=equity)
    if broker != "paper":
        return []
    mis_square_off(broker=broker, latest_tick_ns=max(t.ts for _, t in ticks), equity=equity, now=now)
    done = selectors.fills_caused_by(broker=broker, event_ids=[tick_id for tick_id, _ in ticks])
    outputs = ledger.fill_outputs(broker, done)  # replay of ticks already matched
    created: list[Fill] = []
    for order in selectors.open_orders(broker=broker, tokens={t.instrument_token for _, t in ticks}):
        created += _match_order(order, ticks, now=now)
    if created:
        read_model.activity_add(broker, fills=len(created))
    return outputs + ledger.fill_outputs(broker, created)


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
                on=ledger.trading_day(tick.ts),
            )
            order.last_tick_ts = tick.ts
            created += _apply_execution(order, execution, source_event_id=tick_id, ts_event=tick.ts, now=now)
    return created
