"""Pre-trade risk rules: each weighs one signal against the desk's limits and current exposure.

A rule answers with the reason it refuses, or None. Refusing is an ordinary outcome that the service
publishes, so nothing here raises for a signal. Orders that reduce a position pass the exposure rules
(position, open positions, daily loss) and the entry cut-offs (kill switch, paper's MIS cut-off): a desk
must always be able to get out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime, time
from decimal import ROUND_UP, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from alphapanda.events import Product, Signal

_PERCENT_SHOWN = Decimal("0.01")
IST = ZoneInfo("Asia/Kolkata")


class Rule(enum.StrEnum):
    MAX_QUANTITY = "max_quantity"
    MAX_ORDER_VALUE = "max_order_value"
    MAX_POSITION = "max_position"
    MAX_OPEN_POSITIONS = "max_open_positions"
    MAX_DAILY_TRADES = "max_daily_trades"
    PRICE_DEVIATION = "price_deviation"
    ALLOWED_PRODUCT = "allowed_product"
    ALLOWED_INSTRUMENT = "allowed_instrument"
    MAX_DAILY_LOSS = "max_daily_loss"
    ENTRIES_BLOCKED = "entries_blocked"
    MIS_CUTOFF = "mis_cutoff"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Which rule refused, and why in words a trader can act on."""

    rule: Rule
    reason: str


@dataclass(frozen=True, slots=True)
class Limits:
    """A desk's limits; money in rupees, `max_position` in absolute net units per instrument."""

    max_quantity: int
    max_order_value: Decimal
    max_position: int
    max_open_positions: int
    max_daily_trades: int
    max_price_deviation_pct: Decimal
    allowed_products: frozenset[str]  # empty: every product
    allowed_instruments: frozenset[int]  # empty: every instrument
    max_daily_loss: Decimal  # a positive amount: the loss at which only exits are allowed
    max_drawdown: Decimal = Decimal("100000")  # from the day's peak equity: the circuit breaker trips
    square_off_on_trip: bool = False

    def __post_init__(self) -> None:
        """Refuse a nonsensical limit at startup rather than misjudge every signal afterwards."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | Decimal) and not (Decimal(value).is_finite() and value >= 0):
                raise ValueError(f"limit {field.name} {value} must be a finite, non-negative number")
        if self.max_daily_loss <= 0:
            raise ValueError(f"limit max_daily_loss {self.max_daily_loss} must be a positive amount")


@dataclass(frozen=True, slots=True)
class MisCutoff:
    """Paper's intraday cut-off as it stands for one signal (Zerodha squares MIS off around 15:20 IST and
    takes no new MIS entries after; paper simulates both, real Kite enforces its own)."""

    at: time  # the cut-off, IST
    market_time: datetime  # when the signal is judged: the time of the tick it was decided on
    squared_off: bool  # the day's auto square-off already ran (a late signal from before the cut-off)
    position: int  # the strategy's own signed units in the instrument: the position its order books into


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the ledger knows about the broker account the signal would trade on."""

    position: int  # signed net units in the signal's instrument
    open_positions: int  # instruments with a non-zero net position
    trades_today: int
    day_pnl: Decimal  # realized + unrealized today (since a breaker release, if one), after charges, signed
    last_price: Decimal | None  # last traded price seen for the instrument
    entries_blocked: str | None  # why new entries are refused now (kill switch, strategy paused), if so
    pnl_since_release: bool = False  # day_pnl counts from an admin's release of a tripped breaker
    mis_cutoff: MisCutoff | None = None  # None: no MIS cut-off on this broker (zerodha, or turned off)


class Check(Protocol):
    def __call__(self, signal: Signal, /, *, limits: Limits, exposure: Exposure) -> Rejection | None: ...


def _rupees(amount: Decimal) -> str:
    return f"-₹{-amount:f}" if amount < 0 else f"₹{amount:f}"


def _reduces(signal: Signal, position: int) -> bool:
    """Moves the position towards zero without flipping past it."""
    return position * signal.side.sign < 0 and signal.quantity <= abs(position)


def _value_price(signal: Signal) -> Decimal:
    """The price an order is valued at: its own, else its trigger, else what the strategy saw."""
    if signal.price is not None:
        return signal.price
    if signal.trigger_price is not None:
        return signal.trigger_price
    return signal.reference_price


def check_allowed_instrument(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    if not limits.allowed_instruments or signal.instrument_token in limits.allowed_instruments:
        return None
    return Rejection(
        Rule.ALLOWED_INSTRUMENT,
        f"{signal.symbol} (token {signal.instrument_token}) is not an allowed instrument",
    )


def check_allowed_product(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    if not limits.allowed_products or signal.product in limits.allowed_products:
        return None
    allowed = ", ".join(sorted(limits.allowed_products))
    return Rejection(Rule.ALLOWED_PRODUCT, f"product {signal.product} is not allowed (allowed: {allowed})")


def check_max_quantity(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    if signal.quantity <= limits.max_quantity:
        return None
    return Rejection(
        Rule.MAX_QUANTITY, f"quantity {signal.quantity} exceeds the limit of {limits.max_quantity}"
    )


def check_max_order_value(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    price = _value_price(signal)
    value = signal.quantity * price
    if value <= limits.max_order_value:
        return None
    return Rejection(
        Rule.MAX_ORDER_VALUE,
        f"order value {_rupees(value)} ({signal.quantity} × {_rupees(price)}) exceeds the limit of "
        f"{_rupees(limits.max_order_value)}",
    )


def check_price_deviation(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """Catches fat fingers and stale strategy state; without a tick, the strategy's own view is the anchor."""
    price = signal.price if signal.price is not None else signal.reference_price
    anchor, anchor_name = (
        (signal.reference_price, "reference price")
        if exposure.last_price is None
        else (exposure.last_price, "last price")
    )
    deviation = abs(price - anchor) / anchor * 100
    if deviation <= limits.max_price_deviation_pct:
        return None
    shown = deviation.quantize(_PERCENT_SHOWN, rounding=ROUND_UP)  # never shown at or under the limit
    return Rejection(
        Rule.PRICE_DEVIATION,
        f"price {_rupees(price)} is {shown}% away from the {anchor_name} {_rupees(anchor)} "
        f"(limit {limits.max_price_deviation_pct:f}%)",
    )


def check_max_daily_trades(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """Caps new risk, not exits: a desk past its trade count must still be able to get flat."""
    if exposure.trades_today < limits.max_daily_trades or _reduces(signal, exposure.position):
        return None
    return Rejection(
        Rule.MAX_DAILY_TRADES,
        f"{exposure.trades_today} trades today already reach the daily limit of {limits.max_daily_trades}; "
        "only orders that reduce a position are allowed",
    )


def check_max_daily_loss(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """Measured from the same base as the daily loss breaker, so an admin's release re-opens entries."""
    if exposure.day_pnl > -limits.max_daily_loss or _reduces(signal, exposure.position):
        return None
    what = "P&L since the circuit breaker release" if exposure.pnl_since_release else "day P&L"
    return Rejection(
        Rule.MAX_DAILY_LOSS,
        f"{what} of {_rupees(exposure.day_pnl)} has reached the daily loss limit of "
        f"{_rupees(limits.max_daily_loss)}; only orders that reduce a position are allowed",
    )


def check_max_open_positions(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    if exposure.position != 0 or exposure.open_positions < limits.max_open_positions:
        return None
    return Rejection(
        Rule.MAX_OPEN_POSITIONS,
        f"{signal.symbol} would open a new position, and {exposure.open_positions} are already open "
        f"(limit {limits.max_open_positions})",
    )


def check_max_position(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    after = exposure.position + signal.side.sign * signal.quantity
    if abs(after) <= limits.max_position or _reduces(signal, exposure.position):
        return None
    return Rejection(
        Rule.MAX_POSITION,
        f"{signal.side} {signal.quantity} would take the {signal.symbol} position from "
        f"{exposure.position} to {after} units, beyond the limit of {limits.max_position}",
    )


# Checks of the signal alone first, then against the market, then against the account.
def check_entries_blocked(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """A kill switch or a paused strategy stops new risk; getting out must always stay possible."""
    if exposure.entries_blocked is None or _reduces(signal, exposure.position):
        return None
    return Rejection(
        Rule.ENTRIES_BLOCKED, f"{exposure.entries_blocked}; only orders that reduce a position pass"
    )


def check_mis_cutoff(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """After paper's MIS cut-off (and its square-off) an intraday entry would be left open overnight, so
    only MIS orders that reduce the strategy's position pass; CNC and NRML are not affected."""
    cutoff = exposure.mis_cutoff
    if cutoff is None or signal.product != Product.MIS or _reduces(signal, cutoff.position):
        return None
    at = cutoff.market_time.astimezone(IST)
    if at.time() >= cutoff.at:
        when = f"signal at {at:%H:%M:%S} IST"
    elif cutoff.squared_off:
        when = "the day's MIS square-off has run"
    else:
        return None
    return Rejection(
        Rule.MIS_CUTOFF,
        f"MIS entries closed after {cutoff.at:%H:%M} IST ({when}); only orders that reduce a position pass",
    )


RULES: tuple[Check, ...] = (
    check_entries_blocked,
    check_mis_cutoff,
    check_allowed_instrument,
    check_allowed_product,
    check_max_quantity,
    check_max_order_value,
    check_price_deviation,
    check_max_daily_trades,
    check_max_daily_loss,
    check_max_open_positions,
    check_max_position,
)


def evaluate(signal: Signal, *, limits: Limits, exposure: Exposure) -> Rejection | None:
    """The first rule that refuses, so the trader sees the most basic problem first."""
    for check in RULES:
        rejection = check(signal, limits=limits, exposure=exposure)
        if rejection is not None:
            return rejection
    return None
