"""The bench's watchers compute on every tick of their instruments and can never trade one: the tick
steps measure ticks into strategies, not signals."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bench import universe
from tests.unit.trading.test_strategies import tick
from trading.instruments import Instrument
from trading.strategies.registry import build

WATCHED = Instrument(token=1_000_000_201, symbol="BENCH-W", exchange="NSE")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=6, max_value=10**7), min_size=1, max_size=400))
def test_watcher_when_any_prices_then_never_signals(paise: list[int]) -> None:
    watcher = build("bollinger", name="w", instrument=WATCHED, params=universe.WATCHER_PARAMS)
    for ts, price in enumerate(paise):
        assert watcher.on_tick(tick(Decimal(price) / 100, ts, WATCHED)) == []


def test_watched_and_traded_symbols_when_listed_then_disjoint_and_full() -> None:
    traded, watched = universe.traded_symbols(), universe.watched_symbols()
    assert (len(traded), len(watched)) == (universe.INSTRUMENTS, universe.WATCHED)
    assert not set(traded) & set(watched)
