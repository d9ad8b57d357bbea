"""What every strategy shares: parameter parsing, the target-position machine and Signal building.

Indicator math is Decimal, not float. Prices arrive as exact Decimals, so the running window sums
below stay exact however many ticks pass (a float running sum drifts, and the drift could flip a
crossing that a fresh computation would not), and every machine makes the same decisions on a
replay as it made live. At these window sizes Decimal's 28 digits hold the sums without rounding.
"""

from __future__ import annotations

import abc
import enum
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec

from alphapanda.events import MAX_QUANTITY, Product, Side, Signal, Tick
from trading.instruments import Instrument

MAX_WINDOW = 10_000
Window = Annotated[int, msgspec.Meta(ge=1, le=MAX_WINDOW)]


class StrategyConfigError(ValueError):
    """A strategy that cannot be built as configured; the message names the strategy."""


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters every strategy takes; unknown names are refused so a typo is not silently ignored."""

    lots: Annotated[int, msgspec.Meta(ge=1)] = 1
    product: Product = Product.MIS
    allow_short: bool = True


class Target(enum.IntEnum):
    """The position a strategy wants, as a multiple of its order quantity."""

    SHORT = -1
    FLAT = 0
    LONG = 1


P = TypeVar("P", bound=Params)


class Strategy(abc.ABC, Generic[P]):
    """One strategy on one instrument: `decide` names a target, the base emits the order to reach it.

    `position` is the intended position in units, updated when a signal is emitted: the strategy
    does not see fills, and resizing from intent keeps a reversal to a single order.
    """

    kind: ClassVar[str]
    params_type: type[P]

    def __init__(self, *, name: str, instrument: Instrument, params: Mapping[str, Any]) -> None:
        self.name = name
        self.instrument = instrument
        self.params: P = _parse_params(self.params_type, name, self.kind, params)
        if instrument.segment == "INDICES" or instrument.lot_size < 1:
            raise StrategyConfigError(
                f"strategy {name!r} ({self.kind}): {instrument.symbol} is an index or has no lot size,"
                " so it cannot be traded"
            )
        self.quantity = self.params.lots * instrument.lot_size
        if 2 * self.quantity > MAX_QUANTITY:  # a reversal trades twice the quantity
            raise StrategyConfigError(
                f"strategy {name!r} ({self.kind}): parameter lots: {self.params.lots} lots of"
                f" {instrument.lot_size} exceed the order quantity limit"
            )
        self.position = 0

    def on_tick(self, tick: Tick) -> list[Signal]:
        decision = self.decide(tick.ltp)
        if decision is None:
            return []
        target, reason = decision
        if target is Target.SHORT and not self.params.allow_short:
            target = Target.FLAT
        change = target * self.quantity - self.position
        if change == 0:
            return []
        self.position += change
        side = Side.BUY if change > 0 else Side.SELL
        return [make_signal(self, tick, side, abs(change), reason)]

    @abc.abstractmethod
    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        """Take in the new price; return the wanted target and why, or None to hold."""


def make_signal(strategy: Strategy[Any], tick: Tick, side: Side, quantity: int, reason: str) -> Signal:
    """A market order at the tick, carrying the book the strategy saw when it decided."""
    return Signal(
        strategy=strategy.name,
        instrument_token=strategy.instrument.token,
        symbol=strategy.instrument.symbol,
        exchange=strategy.instrument.exchange,
        side=side,
        quantity=quantity,
        product=strategy.params.product,
        reference_price=tick.ltp,
        bids=tick.bids,
        asks=tick.asks,
        reason=reason,
        ts=tick.ts,
    )


class RollingWindow:
    """The last `size` values with their running sum and sum of squares, O(1) per value."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: deque[Decimal] = deque()
        self._total = Decimal(0)
        self._squares = Decimal(0)

    def push(self, value: Decimal) -> None:
        if len(self._values) == self.size:
            old = self._values.popleft()
            self._total -= old
            self._squares -= old * old
        self._values.append(value)
        self._total += value
        self._squares += value * value

    @property
    def full(self) -> bool:
        return len(self._values) == self.size

    @property
    def mean(self) -> Decimal:
        return self._total / len(self._values)

    @property
    def stdev(self) -> Decimal:
        """Population standard deviation, as Bollinger bands use."""
        mean = self.mean
        return max(Decimal(0), self._squares / len(self._values) - mean * mean).sqrt()


def _parse_params(params_type: type[P], name: str, kind: str, params: Mapping[str, Any]) -> P:
    try:
        return msgspec.convert(dict(params), params_type)
    except (TypeError, ValueError) as exc:  # msgspec.ValidationError is a ValueError
        message = str(exc)
        head, _, path = message.partition(" - at `$.")
        if path:
            message = f"parameter {path.rstrip('`')}: {head}"
        raise StrategyConfigError(f"strategy {name!r} ({kind}): {message}") from exc
