from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from alphapanda.events import Side, Tick
from trading.instruments import Instrument
from trading.runner import StrategyRunner, StrategySpec
from trading.strategies import registry
from trading.strategies.base import Params, Strategy, StrategyConfigError, Target

RELIANCE = Instrument(token=738561, symbol="RELIANCE", exchange="NSE")
INFY = Instrument(token=408065, symbol="INFY", exchange="NSE")
TCS = Instrument(token=2953217, symbol="TCS", exchange="NSE")
# SMA(2)/SMA(3) on these prices crosses above on the last tick (see test_strategies).
CROSSING = [12, 11, 10, 9, 10, 12]


class Always(Strategy[Params]):
    """Wants to be long from the first tick: one BUY, then silence."""

    kind = "always"
    params_type = Params

    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        return Target.LONG, "always"


class Boom(Strategy[Params]):
    kind = "boom"
    params_type = Params

    def decide(self, price: Decimal) -> tuple[Target, str] | None:
        raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.STRATEGY_KINDS, "always", Always)
    monkeypatch.setitem(registry.STRATEGY_KINDS, "boom", Boom)


def spec(
    name: str,
    kind: str = "always",
    params: dict[str, Any] | None = None,
    instruments: tuple[Instrument, ...] = (RELIANCE,),
    brokers: tuple[str, ...] = ("paper",),
) -> StrategySpec:
    return StrategySpec(name, kind, params or {}, instruments, brokers)


def tick(instrument: Instrument, price: float = 100, ts: int = 0) -> Tick:
    return Tick(
        instrument_token=instrument.token,
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        ltp=Decimal(price),
        ts=ts,
    )


def routed(runner: StrategyRunner, t: Tick) -> list[tuple[str, str, str]]:
    return [(broker, s.strategy, s.symbol) for broker, s in runner.on_tick(t)]


def test_a_tick_with_no_strategy_on_its_instrument_returns_nothing() -> None:
    runner = StrategyRunner([spec("a", instruments=(RELIANCE,))], active_brokers=("paper",))
    assert runner.on_tick(tick(TCS)) == []


def test_each_instrument_reaches_only_its_own_strategies() -> None:
    runner = StrategyRunner(
        [spec("both", instruments=(RELIANCE, INFY)), spec("infy", instruments=(INFY,))],
        active_brokers=("paper",),
    )
    assert routed(runner, tick(RELIANCE)) == [("paper", "both", "RELIANCE")]
    assert routed(runner, tick(INFY)) == [("paper", "both", "INFY"), ("paper", "infy", "INFY")]


def test_signals_fan_out_to_active_brokers_in_active_order_only() -> None:
    runner = StrategyRunner(
        [
            spec("two", brokers=("paper", "zerodha")),
            spec("zerodha-only", brokers=("zerodha",)),
            spec("paper-only", brokers=("paper", "dhan")),
        ],
        active_brokers=("zerodha", "paper"),
    )
    assert routed(runner, tick(RELIANCE)) == [
        ("zerodha", "two", "RELIANCE"),
        ("paper", "two", "RELIANCE"),
        ("zerodha", "zerodha-only", "RELIANCE"),
        ("paper", "paper-only", "RELIANCE"),
    ]


def test_a_spec_with_no_active_broker_is_skipped() -> None:
    runner = StrategyRunner([spec("live", brokers=("zerodha",))], active_brokers=("paper",))
    assert runner.on_tick(tick(RELIANCE)) == []


def test_a_raising_strategy_is_logged_counted_and_isolated(caplog: pytest.LogCaptureFixture) -> None:
    runner = StrategyRunner(
        [spec("bad", kind="boom"), spec("good")],
        active_brokers=("paper",),
    )
    with caplog.at_level(logging.ERROR, logger="trading.runner"):
        assert routed(runner, tick(RELIANCE)) == [("paper", "good", "RELIANCE")]
        runner.on_tick(tick(RELIANCE))
    assert runner.errors == {"bad": 2}
    assert "strategy bad failed on RELIANCE (738561)" in caplog.text
    assert "RuntimeError: boom" in caplog.text


def sma_spec(brokers: tuple[str, ...] = ("paper",), **params: Any) -> StrategySpec:
    return spec("sma", "sma_crossover", {"fast": 2, "slow": 3, **params}, brokers=brokers)


def feed(runner: StrategyRunner, prices: list[int], start: int = 0) -> list[tuple[str, Side, int]]:
    out = []
    for offset, price in enumerate(prices):
        for broker, signal in runner.on_tick(tick(RELIANCE, price, start + offset)):
            out.append((broker, signal.side, signal.quantity))
    return out


def test_reload_keeps_the_state_of_unchanged_strategies() -> None:
    runner = StrategyRunner([sma_spec()], active_brokers=("paper", "zerodha"))
    assert feed(runner, CROSSING[:4]) == []
    # Same strategy (explicit defaults count as unchanged), new broker list, one new strategy.
    runner.reload([sma_spec(lots=1, brokers=("zerodha",)), spec("new", instruments=(INFY,))])
    assert feed(runner, CROSSING[4:], start=4) == [("zerodha", Side.BUY, 1)]


def test_reload_restarts_a_strategy_whose_params_changed() -> None:
    runner = StrategyRunner([sma_spec()], active_brokers=("paper",))
    feed(runner, CROSSING[:4])
    runner.reload([sma_spec(lots=2)])
    assert feed(runner, CROSSING[4:], start=4) == []  # warming up again, no cross seen yet


def test_bad_params_name_the_strategy_and_a_failed_reload_keeps_the_running_config() -> None:
    with pytest.raises(StrategyConfigError, match="strategy 'sma' \\(sma_crossover\\): parameter fast"):
        StrategyRunner([sma_spec(fast=9)], active_brokers=("paper",))
    runner = StrategyRunner([sma_spec()], active_brokers=("paper",))
    feed(runner, CROSSING[:4])
    with pytest.raises(StrategyConfigError, match="strategy 'broken'"):
        runner.reload([sma_spec(), spec("broken", kind="nope")])
    assert feed(runner, CROSSING[4:], start=4) == [("paper", Side.BUY, 1)]


def test_duplicate_strategy_names_are_rejected() -> None:
    with pytest.raises(StrategyConfigError, match="'a' is defined twice"):
        StrategyRunner([spec("a"), spec("a", instruments=(INFY,))], active_brokers=("paper",))


def test_reload_when_the_configuration_is_unchanged_then_nothing_is_rebuilt(monkeypatch) -> None:
    runner = StrategyRunner([sma_spec()], active_brokers=("paper",))
    feed(runner, CROSSING[:4])
    built = []
    monkeypatch.setattr("trading.runner.build", lambda *a, **kw: built.append(a) or pytest.fail("rebuilt"))
    runner.reload([sma_spec()])  # an equal spec, as the database gives it again every reload
    assert built == []
    assert feed(runner, CROSSING[4:], start=4) == [("paper", Side.BUY, 1)]
