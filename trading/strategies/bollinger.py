"""Mean reversion on Bollinger bands: buy below the lower band, sell above the upper, exit at the mean."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec

from trading.strategies.base import MAX_WINDOW, Params, RollingWindow, Strategy, Target


class BollingerParams(Params, frozen=True):
    window: Annotated[int, msgspec.Meta(ge=2, le=MAX_WINDOW)] = 20
    k: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if not (self.k.is_finite() and self.k > 0):
            raise ValueError(f"parameter k ({self.k}) must be a positive number of deviations")


class Bollinger(Strategy[BollingerParams]):
    """Bands are the window's mean ± k population deviations, the current price included."""

    kind = "bollinger"
    params_type = BollingerParams

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._window = RollingWindow(self.params.window)

    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        self._window.push(price)
        if not self._window.full:
            return None
        mean = self._window.mean
        width = self.params.k * self._window.stdev
        if price < mean - width:
            return Target.LONG, f"price {price} below lower band {mean - width:.2f}"
        if price > mean + width:
            return Target.SHORT, f"price {price} above upper band {mean + width:.2f}"
        if (self.position > 0 and price >= mean) or (self.position < 0 and price <= mean):
            return Target.FLAT, f"price {price} back across middle band {mean:.2f}"
        return None
