"""Strategy kinds by the name configuration uses, so a config row can be turned into a strategy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trading.instruments import Instrument
from trading.strategies.base import Strategy, StrategyConfigError
from trading.strategies.bollinger import Bollinger
from trading.strategies.rsi import Rsi
from trading.strategies.sma_crossover import SmaCrossover

STRATEGY_KINDS: dict[str, type[Strategy[Any]]] = {cls.kind: cls for cls in (SmaCrossover, Bollinger, Rsi)}


def build(kind: str, *, name: str, instrument: Instrument, params: Mapping[str, Any]) -> Strategy[Any]:
    try:
        cls = STRATEGY_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(STRATEGY_KINDS))
        raise StrategyConfigError(f"strategy {name!r}: unknown kind {kind!r} (known: {known})") from None
    return cls(name=name, instrument=instrument, params=params)
