"""Routes each tick to the strategies on its instrument and fans their signals out to the brokers."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alphapanda.events import Signal, Tick
from trading.instruments import Instrument
from trading.strategies.base import Strategy, StrategyConfigError
from trading.strategies.registry import build

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategySpec:
    name: str
    kind: str
    params: dict[str, Any]
    instruments: tuple[Instrument, ...]
    brokers: tuple[str, ...]


Route = tuple[Strategy[Any], tuple[str, ...]]


class StrategyRunner:
    """Holds one strategy instance per (spec, instrument), indexed by instrument token.

    A failing strategy is logged and counted in `errors` and never stops the others, as
    freqtrade's strategy_wrapper does: one bad strategy must not silence the rest of the book.
    """

    def __init__(self, specs: Iterable[StrategySpec], *, active_brokers: tuple[str, ...]) -> None:
        self.active_brokers = active_brokers
        self.errors: Counter[str] = Counter()
        self._instances: dict[tuple[str, int], Strategy[Any]] = {}
        self._routes: dict[int, list[Route]] = {}
        self._specs: list[StrategySpec] | None = None
        self.reload(specs)

    def reload(self, specs: Iterable[StrategySpec]) -> None:
        """Swap in a new configuration, keeping the state of strategies whose definition is unchanged.

        Everything is built before anything is replaced, so a StrategyConfigError leaves the running
        configuration as it was. An unchanged configuration is left alone at once: rebuilding thousands
        of strategy instances every reload stalled the tick loop for most of a second.
        """
        specs = list(specs)
        if specs == self._specs:
            return
        instances: dict[tuple[str, int], Strategy[Any]] = {}
        routes: dict[int, list[Route]] = {}
        names: set[str] = set()
        for spec in specs:
            if spec.name in names:
                raise StrategyConfigError(f"strategy {spec.name!r} is defined twice")
            names.add(spec.name)
            brokers = tuple(b for b in self.active_brokers if b in spec.brokers)
            if not brokers:
                logger.info("strategy %s skipped: none of its brokers %s is active", spec.name, spec.brokers)
                continue
            for instrument in spec.instruments:
                key = (spec.name, instrument.token)
                if key in instances:
                    raise StrategyConfigError(f"strategy {spec.name!r} lists {instrument.symbol} twice")
                strategy = self._kept(
                    build(spec.kind, name=spec.name, instrument=instrument, params=spec.params)
                )
                instances[key] = strategy
                routes.setdefault(instrument.token, []).append((strategy, brokers))
        self._instances, self._routes, self._specs = instances, routes, specs

    def on_tick(self, tick: Tick) -> list[tuple[str, Signal]]:
        """Every (broker, signal) the tick produces, in configuration and active-broker order."""
        out: list[tuple[str, Signal]] = []
        for strategy, brokers in self._routes.get(tick.instrument_token, ()):
            try:
                signals = strategy.on_tick(tick)
            except Exception:
                logger.exception(
                    "strategy %s failed on %s (%d)",
                    strategy.name,
                    strategy.instrument.symbol,
                    tick.instrument_token,
                )
                self.errors[strategy.name] += 1
                continue
            out.extend((broker, signal) for signal in signals for broker in brokers)
        return out

    def _kept(self, fresh: Strategy[Any]) -> Strategy[Any]:
        """The running instance if it is the same strategy (kind, parsed params, instrument), else `fresh`.

        Comparing parsed params means `{}` and the explicit defaults count as the same strategy.
        """
        old = self._instances.get((fresh.name, fresh.instrument.token))
        if (
            old is not None
            and old.kind == fresh.kind
            and old.params == fresh.params
            and old.instrument == fresh.instrument
        ):
            return old
        return fresh
