"""Circuit breakers: pure logic deciding whether a broker's equity has fallen far enough to halt it.

Two limits, both positive rupee amounts: the day's loss from its starting equity, and the drawdown
from the day's peak equity. Equities are integer paise, as in the read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

DAILY_LOSS = "daily_loss"
DRAWDOWN = "drawdown"


@dataclass(frozen=True, slots=True)
class Trip:
    kind: str  # DAILY_LOSS | DRAWDOWN
    cause: str


def _rupees(paise: int) -> Decimal:
    return Decimal(paise) / 100


def _shown(amount: Decimal) -> str:
    return f"-₹{-amount:.2f}" if amount < 0 else f"₹{amount:.2f}"


def evaluate(
    *, equity: int, start_equity: int, peak_equity: int, max_daily_loss: Decimal, max_drawdown: Decimal
) -> Trip | None:
    """The breaker that trips at this equity (the daily loss first), or None."""
    loss = _rupees(start_equity - equity)
    if loss >= max_daily_loss:
        return Trip(
            DAILY_LOSS,
            f"day loss of {_shown(loss)} (equity {_shown(_rupees(equity))} from a start of "
            f"{_shown(_rupees(start_equity))}) reached the daily loss limit of {_shown(max_daily_loss)}",
        )
    drawdown = _rupees(max(peak_equity, start_equity) - equity)
    if drawdown >= max_drawdown:
        return Trip(
            DRAWDOWN,
            f"drawdown of {_shown(drawdown)} (equity {_shown(_rupees(equity))} from the day's peak of "
            f"{_shown(_rupees(max(peak_equity, start_equity)))}) reached the drawdown limit of "
            f"{_shown(max_drawdown)}",
        )
    return None
