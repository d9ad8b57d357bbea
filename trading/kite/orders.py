"""Zerodha orders: placing them once, and turning Kite's order updates into fills and failures.

Updates arrive three ways (postbacks, the websocket, polling) and in any order; applying one is
idempotent: trades are keyed by Kite's trade id, terminal statuses stick, quantities only grow.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from kiteconnect import exceptions

from alphapanda.batches import Outgoing
from alphapanda.events import OrderStatus, Product, Side
from alphapanda.locks import advisory_lock
from trading import charges, ledger, selectors
from trading.kite import session as kite_session
from trading.kite.ratelimit import DailyCapReached, OrderRateLimiter
from trading.models import Order
from trading.traders.paper import PricedFill
from trading.traders.zerodha import OrderRequest, ZerodhaTrader

log = logging.getLogger("trading.zerodha")

BROKER = "zerodha"
TERMINAL = {OrderStatus.COMPLETE.value, OrderStatus.REJECTED.value, OrderStatus.CANCELLED.value}
# Kite's statuses that we keep as they are; every other one (… PENDING, … REQ RECEIVED) is PENDING.
KITE_STATUSES = {s.value for s in OrderStatus}


def limiter() -> OrderRateLimiter:
    return OrderRateLimiter(settings.REDIS_URL, broker=BROKER, per_day=settings.CONFIG.kite.daily_order_cap)


def _request(order: Order) -> OrderRequest:
    return OrderRequest(
        order_id=order.order_id,
        exchange=order.exchange,
        tradingsymbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        product=order.product,
        order_type=order.order_type,
        price=order.price,
        trigger_price=order.trigger_price,
    )


def _reject(order: Order, reason: str, now: datetime) -> Order:
    order.status, order.reason, order.updated_at = OrderStatus.REJECTED.value, reason, now
    order.save()
    return order


def order_place(*, order: Order, now: datetime) -> Order:
    """Send a recorded order to Kite unless it already went; never twice (lock + tag lookup)."""
    if order.broker_order_id or order.status != OrderStatus.PENDING.value:
        return order
    with advisory_lock(f"place:{order.order_id}"):
        order.refresh_from_db()
        if order.broker_order_id or order.status != OrderStatus.PENDING.value:
            return order  # another worker placed it while we waited
        paused = kite_session.paused_reason()
        if paused:
            return _reject(order, f"zerodha paused: {paused}", now)
        resume = order.placement_attempts > 0
        order.placement_attempts += 1
        order.save(update_fields=["placement_attempts"])  # durable before Kite hears of it
        kite = settings.CONFIG.kite
        try:
            trader = ZerodhaTrader(
                kite_session.client(),
                limiter(),
                algo_id=kite.algo_id,
                market_protection=kite.market_protection,
            )
            placement = trader.place(_request(order), resume=resume)
        except exceptions.TokenException as exc:
            kite_session.session_invalidate(reason=str(exc))
            return _reject(order, f"zerodha paused: Kite refused the access token ({exc})", now)
        except (kite_session.NoSession, DailyCapReached) as exc:
            return _reject(order, f"zerodha: {exc.message}", now)
        if placement.rejected_reason:
            return _reject(order, placement.rejected_reason, now)
        order.broker_order_id, order.updated_at = placement.broker_order_id, now
        order.save(update_fields=["broker_order_id", "updated_at"])
        log.info(
            "zerodha order %s placed as Kite %s (tag %s)", order.order_id, order.broker_order_id, order.tag
        )
        return order


def _price(value) -> Decimal:
    """Kite sends JSON numbers; their shortest repr is the exchange's price (e.g. 1500.25)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _find(data: dict) -> Order | None:
    order = Order.objects.filter(broker=BROKER, broker_order_id=str(data.get("order_id"))).first()
    if order is None and data.get("tag"):
        order = Order.objects.filter(broker=BROKER, tag=data["tag"]).first()
    return order


def order_update_apply(
    *, data: dict, source: str, now: datetime, trades: list[dict] | None = None
) -> list[Outgoing]:
    """Apply one Kite order update (postback, websocket or poll); return the events it caused.

    New fills are read from Kite's trades for the order (exact prices, one per exchange trade);
    `trades` may be passed when the caller already has them.
    """
    order = _find(data)
    if order is None:
        log.info("kite update for an order not placed by Alpha Panda: %s (%s)", data.get("order_id"), source)
        return []
    filled = int(data.get("filled_quantity") or 0)
    if filled > order.filled_quantity and trades is None:
        trades = kite_session.client().order_trades(str(data["order_id"]))
    instrument = selectors.instrument_get(order.instrument_token)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.broker_order_id:
            order.broker_order_id = str(data["order_id"])  # adopted by tag
        recorded = set(order.fills.values_list("fill_id", flat=True))
        fresh = []
        for trade in sorted(trades or [], key=lambda t: str(t.get("trade_id"))):
            key = f"trade/{trade['trade_id']}"
            if ledger.fill_id(order, key) in recorded:
                continue
            quantity, price = int(trade["quantity"]), _price(trade["average_price"])
            fee = charges.fill_charges(
                segment=charges.segment_of(
                    exchange=order.exchange, instrument_type=instrument.instrument_type
                ),
                product=Product(order.product),
                exchange=order.exchange,
                side=Side(order.side),
                quantity=quantity,
                price=price,
                on=ledger.trading_day(order.ts_event),
                order_brokerage_so_far=order.brokerage_paid
                + sum((f.charges.brokerage for _, f in fresh), Decimal(0)),
            )
            fresh.append((key, PricedFill(quantity, price, fee)))
        created = ledger.fills_record(order, fresh, source_event_id=f"kite:{order.broker_order_id}",
                                      ts_event=order.ts_event, now=now)  # fmt: skip
        failed = _status_apply(order, data)
        order.save()
    outputs = ledger.fill_outputs(BROKER, created)
    if failed:
        outputs += ledger.failure_outputs(BROKER, order)
    return outputs


def _status_apply(order: Order, data: dict) -> bool:
    """Move to Kite's status unless ours is already final; True when it just became rejected or cancelled."""
    status = str(data.get("status") or "").upper()
    if order.status in TERMINAL or status not in KITE_STATUSES:
        return False
    order.status = status
    if status in (OrderStatus.REJECTED.value, OrderStatus.CANCELLED.value):
        order.reason = data.get("status_message") or data.get("status_message_raw") or status.lower()
        return True
    return False
