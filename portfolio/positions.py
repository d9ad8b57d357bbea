"""Positions and P&L in integer paise, so a portfolio rebuilt from the fills log matches to the paisa.

The cost basis is kept as a signed total rather than an average price: closing part of a position
removes its share of the cost, rounded once to the paisa, and `realized - cost` always equals minus the
signed value of every fill so far, so rounding can shift P&L between realized and unrealized but never
create or lose a paisa.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

from alphapanda.events import Fill, Side
from alphapanda.money import to_paise

Key = tuple[str, int]  # (strategy, instrument_token)

_AVERAGE_PRICE_STEP = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Position:
    """One strategy's holding in one instrument; every amount in paise.

    `cost` is the signed cost basis of the open quantity (negative when short), `realized` is before
    charges, which accumulate apart so gross and net P&L can both be reported.
    """

    quantity: int = 0
    cost: int = 0
    realized: int = 0
    charges: int = 0
    buy_quantity: int = 0
    sell_quantity: int = 0
    buy_value: int = 0
    sell_value: int = 0
    fills: int = 0

    def amounts(self) -> dict[str, int]:
        """Every field by name. `dataclasses.asdict` deep-copies each value: a fifth of the portfolio
        step's time (cProfile) for a handful of ints."""
        return {name: getattr(self, name) for name in Position.__slots__}

    @property
    def average_price(self) -> Decimal:
        """In rupees, for display; the ledger itself never divides the cost."""
        if self.quantity == 0:
            return Decimal(0)
        average = Decimal(abs(self.cost)) / abs(self.quantity) / 100
        return average.quantize(_AVERAGE_PRICE_STEP, rounding=ROUND_HALF_EVEN)

    def unrealized(self, last_price_paise: int) -> int:
        return self.quantity * last_price_paise - self.cost

    def market_value(self, last_price_paise: int) -> int:
        return self.quantity * last_price_paise


def _divide_half_even(numerator: int, denominator: int) -> int:
    """Integer division rounded half to even; `denominator` must be positive."""
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def apply_fill(position: Position, *, side: Side, quantity: int, price: int, charges: int) -> Position:
    """The position after one fill, `price` and `charges` in paise.

    A fill larger than the position it closes opens the remainder the other way at the fill price.
    """
    signed = side.sign * quantity
    held = position.quantity
    cost, realized = position.cost, position.realized
    if held * signed >= 0:
        cost += signed * price
    else:
        closing = min(quantity, abs(held))
        removed = _divide_half_even(cost * closing, abs(held))
        realized += (1 if held > 0 else -1) * closing * price - removed
        cost += side.sign * (quantity - closing) * price - removed
    value = quantity * price
    return replace(
        position,
        quantity=held + signed,
        cost=cost,
        realized=realized,
        charges=position.charges + charges,
        buy_quantity=position.buy_quantity + (quantity if side is Side.BUY else 0),
        sell_quantity=position.sell_quantity + (quantity if side is Side.SELL else 0),
        buy_value=position.buy_value + (value if side is Side.BUY else 0),
        sell_value=position.sell_value + (value if side is Side.SELL else 0),
        fills=position.fills + 1,
    )


def fill_cash_flow(*, side: Side, quantity: int, price: int, charges: int) -> int:
    """The change in cash, in paise: buying spends, selling receives, charges always cost."""
    return -side.sign * quantity * price - charges


@dataclass(frozen=True, slots=True)
class Summary:
    """An account at a moment, in paise; `equity - starting_cash` is the P&L after charges."""

    starting_cash: int
    cash: int
    realized: int
    unrealized: int
    charges: int
    equity: int
    open_positions: int

    @property
    def pnl(self) -> int:
        return self.equity - self.starting_cash


def token_totals(positions: Iterable[tuple[int, Position]]) -> dict[int, tuple[int, int]]:
    """Per instrument, the net quantity and net cost over every strategy: all equity needs of them."""
    totals: dict[int, tuple[int, int]] = {}
    for token, position in positions:
        quantity, cost = totals.get(token, (0, 0))
        totals[token] = (quantity + position.quantity, cost + position.cost)
    return totals


def equity_of(*, cash: int, totals: Mapping[int, tuple[int, int]], last_prices: Mapping[int, int]) -> int:
    """Cash plus each instrument at its last price, or at cost where it has none (no unrealized P&L)."""
    value = 0
    for token, (quantity, cost) in totals.items():
        last = last_prices.get(token)
        value += cost if last is None else quantity * last
    return cash + value


def summarize(
    positions: Mapping[Key, Position], *, starting_cash: int, cash: int, last_prices: Mapping[int, int]
) -> Summary:
    """Value the account; a position with no last price is held at cost, so it shows no unrealized P&L."""
    unrealized = 0
    for (_, token), position in positions.items():
        last = last_prices.get(token)
        if last is not None:
            unrealized += position.unrealized(last)
    totals = token_totals((token, position) for (_, token), position in positions.items())
    return Summary(
        starting_cash=starting_cash,
        cash=cash,
        realized=sum(position.realized for position in positions.values()),
        unrealized=unrealized,
        charges=sum(position.charges for position in positions.values()),
        equity=equity_of(cash=cash, totals=totals, last_prices=last_prices),
        open_positions=sum(1 for quantity, _ in totals.values() if quantity != 0),
    )


def replay(fills: Iterable[Fill]) -> tuple[dict[Key, Position], int]:
    """Rebuild positions from the fills log, with the cash the fills moved (in paise)."""
    positions: dict[Key, Position] = {}
    cash_delta = 0
    for fill in fills:
        key = (fill.strategy, fill.instrument_token)
        price, charges = to_paise(fill.price), to_paise(fill.charges.total)
        positions[key] = apply_fill(
            positions.get(key, Position()),
            side=fill.side,
            quantity=fill.quantity,
            price=price,
            charges=charges,
        )
        cash_delta += fill_cash_flow(side=fill.side, quantity=fill.quantity, price=price, charges=charges)
    return positions, cash_delta
