"""Circuit breakers: pure logic deciding whether a broker's equity has fallen far enough to halt it.

Two limits, both positive rupee amounts: the day's loss from its starting equity, and the drawdown
from the day's peak equity. Equities are integer paise, as in the read model.

Releasing a tripped breaker re-bases it for the rest of the day: both the loss base and the peak
become the equity at the release, so the breaker trips again only on a fresh loss of a limit's size
from there. Without that, the next tick would trip it again at once and a release would be useless.
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


@dataclass(frozen=True, slots=True)
class Baseline:
    """What today's breakers measure from (paise): the loss base and the peak equity since it was set."""

    loss_base: int  # the day's start equity, or the equity at the last release of a tripped breaker
    peak: int  # never below loss_base
    released: bool  # the base is a release's, not the day's start (worded so in a trip's cause)


def _rupees(paise: int) -> Decimal:
    return Decimal(paise) / 100


def _shown(amount: Decimal) -> str:
    return f"-₹{-amount:.2f}" if amount < 0 else f"₹{amount:.2f}"


def baseline(*, start_equity: int, peak_equity: int | None, released_equity: int | None = None) -> Baseline:
    """The base the day's breakers stand on; a release replaces the start (and floors the peak)."""
    base = start_equity if released_equity is None else released_equity
    peak = base if peak_equity is None else max(peak_equity, base)
    return Baseline(loss_base=base, peak=peak, released=released_equity is not None)


def rebase(*, equity: int) -> Baseline:
    """A release at this equity: the loss base and the peak both start again from it."""
    return Baseline(loss_base=equity, peak=equity, released=True)


def evaluate(
    *,
    equity: int,
    start_equity: int,
    peak_equity: int | None,
    max_daily_loss: Decimal,
    max_drawdown: Decimal,
    released_equity: int | None = None,
) -> Trip | None:
    """The breaker that trips at this equity (the daily loss first), or None.

    `released_equity`, when a tripped breaker was released today, is the equity at that release: the
    loss is then measured from it, and the peak is the highest equity since it.
    """
    base = baseline(start_equity=start_equity, peak_equity=peak_equity, released_equity=released_equity)
    loss = _rupees(base.loss_base - equity)
    if loss >= max_daily_loss:
        if base.released:
            what = (
                f"loss of {_shown(loss)} since the breaker release (equity {_shown(_rupees(equity))} "
                f"from {_shown(_rupees(base.loss_base))} at the release)"
            )
        else:
            what = (
                f"day loss of {_shown(loss)} (equity {_shown(_rupees(equity))} from a start of "
                f"{_shown(_rupees(base.loss_base))})"
            )
        return Trip(DAILY_LOSS, f"{what} reached the daily loss limit of {_shown(max_daily_loss)}")
    drawdown = _rupees(base.peak - equity)
    if drawdown >= max_drawdown:
        since = "the peak since the breaker release" if base.released else "the day's peak"
        return Trip(
            DRAWDOWN,
            f"drawdown of {_shown(drawdown)} (equity {_shown(_rupees(equity))} from {since} of "
            f"{_shown(_rupees(base.peak))}) reached the drawdown limit of {_shown(max_drawdown)}",
        )
    return None
