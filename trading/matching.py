"""The paper fill simulator: Zerodha's order types (MARKET, LIMIT, SL, SL-M) against a tick's book.

Pure functions, so a backtest and the live paper broker fill the same order the same way. Prices are
always adverse where the simulator has to choose (slippage, rounding to tick, leftover depth), so
paper results flatter a strategy as little as possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from alphapanda.events import Level, OrderType, Side, Tick

BPS = Decimal(10_000)


def round_to_tick(price: Decimal, tick_size: Decimal, *, up: bool) -> Decimal:
    """Adverse rounding (up for buys, down for sells): the exchange only prices in whole ticks."""
    ticks = (price / tick_size).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return ticks * tick_size


def check_order(
    *,
    quantity: int,
    lot_size: int,
    price: Decimal | None,
    trigger_price: Decimal | None,
    tick_size: Decimal,
) -> str | None:
    """Why the exchange would reject the order's shape, or None if it would not."""
    if quantity <= 0 or quantity % lot_size:
        return f"quantity {quantity} is not a positive multiple of the lot size {lot_size}"
    for name, value in (("price", price), ("trigger price", trigger_price)):
        if value is not None and value % tick_size:
            return f"{name} {value} is not a multiple of the tick size {tick_size}"
    return None


@dataclass(frozen=True)
class SimFill:
    quantity: int
    price: Decimal


def _best_first(side: Side, levels: Sequence[Level]) -> list[Level]:
    """Depth as the order meets it: cheapest asks for a buy, dearest bids for a sell."""
    return sorted(
        (lvl for lvl in levels if lvl.quantity > 0), key=lambda lvl: lvl.price, reverse=side is Side.SELL
    )


def _slipped(side: Side, price: Decimal, slippage_bps: Decimal, tick_size: Decimal) -> Decimal:
    """Never below one tick: a sell slipped under the smallest price would be no price at all."""
    moved = price * (1 + side.sign * slippage_bps / BPS)
    return max(round_to_tick(moved, tick_size, up=side is Side.BUY), tick_size)


def _walk(side: Side, quantity: int, levels: Sequence[Level]) -> tuple[list[SimFill], int]:
    """Take up to `quantity` from the levels in order; returns the fills and what is left unfilled."""
    fills: list[SimFill] = []
    remaining = quantity
    for level in levels:
        if remaining == 0:
            break
        take = min(remaining, level.quantity)
        fills.append(SimFill(take, level.price))
        remaining -= take
    return fills, remaining


def market_fills(
    *,
    side: Side,
    quantity: int,
    bids: Sequence[Level],
    asks: Sequence[Level],
    ltp: Decimal,
    slippage_bps: Decimal,
    tick_size: Decimal,
) -> list[SimFill]:
    """Walk the opposite side of the book; what the visible depth cannot absorb fills at its last price.

    The leftover is merged into the last level's fill (or fills at `ltp` on an empty book), so there is
    one fill per price touched.
    """
    if quantity <= 0:
        raise ValueError(f"quantity {quantity} must be positive")
    fills, remaining = _walk(side, quantity, _best_first(side, asks if side is Side.BUY else bids))
    if remaining:
        last = fills.pop() if fills else SimFill(0, ltp)
        fills.append(SimFill(last.quantity + remaining, last.price))
    return [SimFill(fill.quantity, _slipped(side, fill.price, slippage_bps, tick_size)) for fill in fills]


@dataclass(frozen=True)
class RestingOrder:
    """An order waiting on the book; `quantity` is what remains unfilled."""

    side: Side
    quantity: int
    order_type: OrderType
    price: Decimal | None
    trigger_price: Decimal | None
    triggered: bool = False

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity} must be positive")
        if self.order_type in (OrderType.LIMIT, OrderType.SL) and self.price is None:
            raise ValueError(f"a {self.order_type.value} order needs a price")
        if self.order_type in (OrderType.SL, OrderType.SL_M) and self.trigger_price is None:
            raise ValueError(f"a {self.order_type.value} order needs a trigger price")


def _reaches(side: Side, price: Decimal, limit: Decimal) -> bool:
    """Whether `price` is at or better than `limit` for this side."""
    return price <= limit if side is Side.BUY else price >= limit


def _limit_fills(side: Side, quantity: int, limit: Decimal, tick: Tick) -> list[SimFill]:
    """At the book's own prices within the limit, no slippage: a limit is a price guarantee.

    A tick without depth (LTP-only mode) can only say the market traded through the limit, so the
    whole order fills at the limit itself.
    """
    levels = _best_first(side, tick.asks if side is Side.BUY else tick.bids)
    if not levels:
        return [SimFill(quantity, limit)] if _reaches(side, tick.ltp, limit) else []
    fills, _ = _walk(side, quantity, [lvl for lvl in levels if _reaches(side, lvl.price, limit)])
    return fills


def _is_triggered(order: RestingOrder, ltp: Decimal) -> bool:
    """A buy stop fires when the market rises to the trigger, a sell stop when it falls to it."""
    assert order.trigger_price is not None
    return ltp >= order.trigger_price if order.side is Side.BUY else ltp <= order.trigger_price


def evaluate_resting(
    order: RestingOrder, tick: Tick, *, slippage_bps: Decimal, tick_size: Decimal
) -> tuple[RestingOrder | None, list[SimFill]]:
    """The order after this tick (None once fully filled) and the fills the tick gave it."""
    if order.order_type in (OrderType.SL, OrderType.SL_M) and not order.triggered:
        if not _is_triggered(order, tick.ltp):
            return order, []
        order = replace(order, triggered=True)
    if order.order_type in (OrderType.MARKET, OrderType.SL_M):
        fills = market_fills(
            side=order.side,
            quantity=order.quantity,
            bids=tick.bids,
            asks=tick.asks,
            ltp=tick.ltp,
            slippage_bps=slippage_bps,
            tick_size=tick_size,
        )
        return None, fills
    assert order.price is not None
    fills = _limit_fills(order.side, order.quantity, order.price, tick)
    remaining = order.quantity - sum(fill.quantity for fill in fills)
    return (replace(order, quantity=remaining) if remaining else None), fills


def place(
    *,
    side: Side,
    quantity: int,
    order_type: OrderType,
    price: Decimal | None,
    trigger_price: Decimal | None,
    tick: Tick,
    slippage_bps: Decimal,
    tick_size: Decimal,
) -> tuple[RestingOrder | None, list[SimFill]]:
    """Placement is evaluation against the current tick: a MARKET fills whole, a marketable LIMIT fills
    what the book allows and rests the rest, a stop rests unless this tick already triggers it."""
    order = RestingOrder(side, quantity, order_type, price, trigger_price)
    return evaluate_resting(order, tick, slippage_bps=slippage_bps, tick_size=tick_size)
