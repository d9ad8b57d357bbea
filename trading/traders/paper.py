"""The paper trader: Zerodha's order rules simulated against the book, with Zerodha's charges.

Pure: it turns a signal (or a resting order and a new tick) into fills with charges; the service
writes them to the ledger. A market order fills against the book the strategy saw when it decided
(a zero-latency simulation), so a run is reproducible from its ticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from alphapanda.events import Charges, OrderStatus, Signal, Tick
from trading import charges, matching
from trading.instruments import Instrument


@dataclass(frozen=True)
class PricedFill:
    quantity: int
    price: Decimal
    charges: Charges


@dataclass(frozen=True)
class Execution:
    status: OrderStatus
    fills: tuple[PricedFill, ...] = ()
    resting: matching.RestingOrder | None = None
    reason: str = ""
    triggered: bool = False  # a stop order whose trigger the market reached (filled or resting)

    @property
    def brokerage(self) -> Decimal:
        return sum((f.charges.brokerage for f in self.fills), Decimal(0))


def _triggered(order: matching.RestingOrder, resting: matching.RestingOrder | None) -> bool:
    if order.trigger_price is None:
        return False
    return resting is None or resting.triggered


def status_of(resting: matching.RestingOrder | None) -> OrderStatus:
    if resting is None:
        return OrderStatus.COMPLETE
    if resting.trigger_price is not None and not resting.triggered:
        return OrderStatus.TRIGGER_PENDING
    return OrderStatus.OPEN


def _priced(
    fills: list[matching.SimFill],
    *,
    instrument: Instrument,
    order: matching.RestingOrder,
    product,
    on: date,
    brokerage_so_far: Decimal,
) -> tuple[PricedFill, ...]:
    segment = charges.segment_of(exchange=instrument.exchange, instrument_type=instrument.instrument_type)
    out = []
    for fill in fills:
        fee = charges.fill_charges(
            segment=segment,
            product=product,
            exchange=instrument.exchange,
            side=order.side,
            quantity=fill.quantity,
            price=fill.price,
            on=on,
            order_brokerage_so_far=brokerage_so_far,
        )
        brokerage_so_far += fee.brokerage
        out.append(PricedFill(fill.quantity, fill.price, fee))
    return tuple(out)


def signal_tick(signal: Signal) -> Tick:
    """The book the strategy saw, as a tick."""
    return Tick(
        instrument_token=signal.instrument_token,
        symbol=signal.symbol,
        exchange=signal.exchange,
        ltp=signal.reference_price,
        bids=signal.bids,
        asks=signal.asks,
        ts=signal.ts,
    )


def execute(signal: Signal, instrument: Instrument, *, slippage_bps: Decimal, on: date) -> Execution:
    """Place a validated signal: reject what Zerodha would reject, fill what the book allows."""
    problem = matching.check_order(
        quantity=signal.quantity,
        lot_size=instrument.lot_size,
        price=signal.price,
        trigger_price=signal.trigger_price,
        tick_size=instrument.tick_size,
    )
    if problem:
        return Execution(OrderStatus.REJECTED, reason=problem)
    order = matching.RestingOrder(
        signal.side, signal.quantity, signal.order_type, signal.price, signal.trigger_price
    )
    resting, fills = matching.evaluate_resting(
        order, signal_tick(signal), slippage_bps=slippage_bps, tick_size=instrument.tick_size
    )
    priced = _priced(
        fills, instrument=instrument, order=order, product=signal.product, on=on, brokerage_so_far=Decimal(0)
    )
    return Execution(status_of(resting), priced, resting, triggered=_triggered(order, resting))


def on_tick(
    order: matching.RestingOrder,
    tick: Tick,
    instrument: Instrument,
    *,
    product,
    brokerage_so_far: Decimal,
    slippage_bps: Decimal,
    on: date,
) -> Execution:
    """A resting order meets a new tick."""
    resting, fills = matching.evaluate_resting(
        order, tick, slippage_bps=slippage_bps, tick_size=instrument.tick_size
    )
    priced = _priced(
        fills, instrument=instrument, order=order, product=product, on=on, brokerage_so_far=brokerage_so_far
    )
    return Execution(status_of(resting), priced, resting, triggered=_triggered(order, resting))
