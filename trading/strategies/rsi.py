"""Momentum reversal on Wilder's RSI: long as it leaves oversold, short as it leaves overbought."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading.strategies.base import Params, Strategy, Target, Window

HUNDRED = Decimal(100)


class RsiParams(Params, frozen=True):
    period: Window = 14
    oversold: Decimal = Decimal(30)
    overbought: Decimal = Decimal(70)

    def __post_init__(self) -> None:
        finite = self.oversold.is_finite() and self.overbought.is_finite()
        if not (finite and 0 < self.oversold < self.overbought < HUNDRED):
            raise ValueError(
                f"parameters oversold ({self.oversold}) and overbought ({self.overbought})"
                " must satisfy 0 < oversold < overbought < 100"
            )


class Rsi(Strategy[RsiParams]):
    """Wilder's smoothing: the first averages are plain means of `period` changes, then each new
    change gets weight 1/period. Signals need two RSI values, so the first is only a baseline."""

    kind = "rsi"
    params_type = RsiParams

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last_price: Decimal | None = None
        self._changes = 0
        self._avg_gain = Decimal(0)
        self._avg_loss = Decimal(0)
        self._rsi: Decimal | None = None

    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        rsi = self._update(price)
        if rsi is None:
            return None
        previous, self._rsi = self._rsi, rsi
        if previous is None:
            return None
        period, oversold, overbought = self.params.period, self.params.oversold, self.params.overbought
        if previous < oversold <= rsi:
            return Target.LONG, f"RSI({period}) rose through {oversold}: {previous:.2f} -> {rsi:.2f}"
        if previous > overbought >= rsi:
            return Target.SHORT, f"RSI({period}) fell through {overbought}: {previous:.2f} -> {rsi:.2f}"
        return None

    def _update(self, price: Decimal) -> Decimal | None:
        last, self._last_price = self._last_price, price
        if last is None:
            return None
        change = price - last
        gain, loss = max(change, Decimal(0)), max(-change, Decimal(0))
        period = self.params.period
        if self._changes < period:  # seeding: sum now, divide once the first `period` are in
            self._changes += 1
            self._avg_gain += gain
            self._avg_loss += loss
            if self._changes < period:
                return None
            self._avg_gain /= period
            self._avg_loss /= period
        else:
            self._avg_gain = (self._avg_gain * (period - 1) + gain) / period
            self._avg_loss = (self._avg_loss * (period - 1) + loss) / period
        if self._avg_loss == 0:  # no losses: RSI is 100, or neutral 50 if nothing moved at all
            return HUNDRED if self._avg_gain > 0 else HUNDRED / 2
        return HUNDRED - HUNDRED / (1 + self._avg_gain / self._avg_loss)
