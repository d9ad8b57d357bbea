"""Trend following on two simple moving averages: long when the fast crosses above the slow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading.strategies.base import Params, RollingWindow, Strategy, Target, Window


class SmaCrossoverParams(Params, frozen=True):
    fast: Window = 5
    slow: Window = 20

    def __post_init__(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"parameter fast ({self.fast}) must be less than slow ({self.slow})")


class SmaCrossover(Strategy[SmaCrossoverParams]):
    """Signals only on a cross: the averages' order after warm-up is a baseline, not an entry."""

    kind = "sma_crossover"
    params_type = SmaCrossoverParams

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fast = RollingWindow(self.params.fast)
        self._slow = RollingWindow(self.params.slow)
        self._order = 0  # sign of fast - slow when they last differed; 0 until they first do

    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        self._fast.push(price)
        self._slow.push(price)
        if not self._slow.full:
            return None
        fast, slow = self._fast.mean, self._slow.mean
        order = (fast > slow) - (fast < slow)
        if order == 0 or order == self._order:  # touching is not crossing
            return None
        previous, self._order = self._order, order
        if previous == 0:
            return None
        direction = "above" if order > 0 else "below"
        reason = f"SMA({self.params.fast})={fast:.2f} crossed {direction} SMA({self.params.slow})={slow:.2f}"
        return (Target.LONG if order > 0 else Target.SHORT), reason
