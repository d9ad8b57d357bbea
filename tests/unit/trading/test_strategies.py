from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alphapanda.events import Level, Product, Side, Tick
from trading.instruments import Instrument
from trading.strategies.base import Strategy, StrategyConfigError
from trading.strategies.bollinger import Bollinger
from trading.strategies.registry import STRATEGY_KINDS, build
from trading.strategies.rsi import Rsi
from trading.strategies.sma_crossover import SmaCrossover

RELIANCE = Instrument(token=738561, symbol="RELIANCE", exchange="NSE")
FUTURE = Instrument(token=12345602, symbol="NIFTYFUT", exchange="NFO", lot_size=75, segment="NFO-FUT")
NIFTY = Instrument(token=256265, symbol="NIFTY 50", exchange="NSE", segment="INDICES")

# Prices chosen so the SMA(2)/SMA(3) order is: below from tick 2, above at 5, below at 8, above at 10.
SMA_PRICES = [12, 11, 10, 9, 10, 12, 13, 12, 10, 9, 12]
# Bollinger(4, k=1): below the lower band at 4, back to the mean at 6, above the upper band at 7,
# back to the mean at 8.
BOLLINGER_PRICES = [100, 100, 100, 100, 96, 98, 99, 104, 100, 99]
# RSI(2): 0 after seeding, rises through 30 at 4, falls through 70 at 7, rises through 30 at 9.
RSI_PRICES = [100, 99, 98, 97, 99, 101, 102, 100, 99, 100]


def tick(price: float | str, ts: int, instrument: Instrument = RELIANCE) -> Tick:
    ltp = Decimal(str(price))
    return Tick(
        instrument_token=instrument.token,
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        ltp=ltp,
        bids=(Level(ltp - Decimal("0.05"), 10, 2),),
        asks=(Level(ltp, 7, 1),),
        ts=ts,
    )


def run(strategy: Strategy[Any], prices: list[float | str]) -> list[tuple[int, Side, int]]:
    """(tick index, side, quantity) of every signal the strategy emits over the prices."""
    emitted = []
    for index, price in enumerate(prices):
        for signal in strategy.on_tick(tick(price, index)):
            emitted.append((index, signal.side, signal.quantity))
    return emitted


def sma(**params: Any) -> SmaCrossover:
    return SmaCrossover(name="sma", instrument=params.pop("instrument", RELIANCE), params=params)


def test_sma_crossover_signals_exactly_on_the_crosses_and_reverses_through_flat() -> None:
    assert run(sma(fast=2, slow=3), SMA_PRICES) == [
        (5, Side.BUY, 1),
        (8, Side.SELL, 2),
        (10, Side.BUY, 2),
    ]


def test_sma_crossover_quantity_is_lots_times_lot_size() -> None:
    strategy = sma(fast=2, slow=3, lots=2, instrument=FUTURE)
    assert run(strategy, SMA_PRICES) == [(5, Side.BUY, 150), (8, Side.SELL, 300), (10, Side.BUY, 300)]


def test_sma_crossover_without_shorting_only_enters_and_exits() -> None:
    assert run(sma(fast=2, slow=3, allow_short=False), SMA_PRICES) == [
        (5, Side.BUY, 1),
        (8, Side.SELL, 1),
        (10, Side.BUY, 1),
    ]


def test_sma_crossover_touching_is_not_crossing() -> None:
    # SMA(2) < SMA(3) at tick 2, equal at tick 3, above at tick 4: one cross, signalled once at 4.
    assert run(sma(fast=2, slow=3), [12, 11, 10, 12, 9]) == [(4, Side.BUY, 1)]


def test_sma_crossover_needs_a_cross_after_warm_up_not_just_an_order() -> None:
    assert run(sma(fast=2, slow=3), [1, 2, 3, 4, 5, 6, 7]) == []


def test_state_carries_across_ticks_fed_one_at_a_time() -> None:
    strategy = sma(fast=2, slow=3)
    assert run(strategy, SMA_PRICES[:5]) == []
    signals = strategy.on_tick(tick(SMA_PRICES[5], 5))
    assert [(s.side, s.quantity) for s in signals] == [(Side.BUY, 1)]
    assert strategy.position == 1


def test_signal_carries_the_tick_context_and_a_readable_reason() -> None:
    strategy = sma(fast=2, slow=3, product="CNC")
    for index, price in enumerate(SMA_PRICES[:5]):
        strategy.on_tick(tick(price, index))
    seen = tick(12, 5)
    [signal] = strategy.on_tick(seen)
    assert signal.strategy == "sma"
    assert (signal.instrument_token, signal.symbol, signal.exchange) == (738561, "RELIANCE", "NSE")
    assert signal.product is Product.CNC
    assert signal.reference_price == Decimal("12")
    assert (signal.bids, signal.asks, signal.ts) == (seen.bids, seen.asks, 5)
    assert signal.reason == "SMA(2)=11.00 crossed above SMA(3)=10.33"


def bollinger(**params: Any) -> Bollinger:
    return Bollinger(name="bb", instrument=RELIANCE, params={"window": 4, "k": 1, **params})


def test_bollinger_enters_outside_the_bands_and_exits_at_the_middle() -> None:
    assert run(bollinger(), BOLLINGER_PRICES) == [
        (4, Side.BUY, 1),
        (6, Side.SELL, 1),
        (7, Side.SELL, 1),
        (8, Side.BUY, 1),
    ]


def test_bollinger_reverses_from_below_the_lower_band_to_above_the_upper() -> None:
    assert run(bollinger(), [100, 100, 100, 100, 96, 98, 101]) == [(4, Side.BUY, 1), (6, Side.SELL, 2)]


def test_bollinger_does_not_repeat_an_entry_while_still_outside_the_band() -> None:
    # 95 is again below the lower band (95.47), but the strategy is already long.
    assert run(bollinger(), [100, 100, 100, 100, 96, 95]) == [(4, Side.BUY, 1)]


def test_bollinger_without_shorting_ignores_the_upper_band_when_flat() -> None:
    assert run(bollinger(allow_short=False), BOLLINGER_PRICES) == [(4, Side.BUY, 1), (6, Side.SELL, 1)]


def test_bollinger_reason_names_the_band() -> None:
    strategy = bollinger()
    for index, price in enumerate(BOLLINGER_PRICES[:4]):
        strategy.on_tick(tick(price, index))
    [signal] = strategy.on_tick(tick(96, 4))
    assert signal.reason == "price 96 below lower band 97.27"


def rsi(**params: Any) -> Rsi:
    return Rsi(name="rsi", instrument=RELIANCE, params={"period": 2, **params})


def test_rsi_signals_on_crossing_the_thresholds_with_wilder_smoothing() -> None:
    assert run(rsi(), RSI_PRICES) == [(4, Side.BUY, 1), (7, Side.SELL, 2), (9, Side.BUY, 2)]


def test_rsi_reasons_show_wilders_values() -> None:
    strategy = rsi()
    reasons = [s.reason for i, p in enumerate(RSI_PRICES) for s in strategy.on_tick(tick(p, i))]
    assert reasons == [
        "RSI(2) rose through 30: 0.00 -> 66.67",
        "RSI(2) fell through 70: 90.91 -> 37.04",
        "RSI(2) rose through 30: 23.26 -> 56.00",
    ]


def test_rsi_thresholds_are_configurable() -> None:
    # RSI runs 0, 0, 66.67, 85.71, 90.91, 37.04, 23.26, 56.00 from tick 2 on.
    assert run(rsi(oversold=90, overbought=95), RSI_PRICES) == [(6, Side.BUY, 1)]
    assert run(rsi(oversold="60.5", overbought=80), RSI_PRICES) == [(4, Side.BUY, 1), (7, Side.SELL, 2)]


def test_rsi_without_shorting_exits_instead() -> None:
    assert run(rsi(allow_short=False), RSI_PRICES) == [
        (4, Side.BUY, 1),
        (7, Side.SELL, 1),
        (9, Side.BUY, 1),
    ]


def test_no_movement_gives_no_signal() -> None:
    flat = [100] * 30
    for strategy in (sma(), bollinger(), rsi()):
        assert run(strategy, flat) == []


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("sma_crossover", {"fast": 20, "slow": 5}, "parameter fast (20) must be less than slow (5)"),
        ("sma_crossover", {"fast": "5"}, "parameter fast: Expected `int`, got `str`"),
        ("sma_crossover", {"fsat": 3}, "unknown field `fsat`"),
        ("sma_crossover", {"lots": 0}, "parameter lots: Expected `int` >= 1"),
        ("sma_crossover", {"product": "INTRADAY"}, "parameter product: Invalid enum value 'INTRADAY'"),
        ("bollinger", {"k": 0}, "parameter k (0) must be a positive number"),
        ("bollinger", {"k": "NaN"}, "parameter k (NaN) must be a positive number"),
        ("bollinger", {"window": 1}, "parameter window: Expected `int` >= 2"),
        ("rsi", {"oversold": 80}, "0 < oversold < overbought < 100"),
        ("rsi", {"period": 0}, "parameter period: Expected `int` >= 1"),
    ],
)
def test_bad_params_are_rejected_naming_the_strategy_and_parameter(
    kind: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(StrategyConfigError) as raised:
        build(kind, name="mine", instrument=RELIANCE, params=params)
    assert str(raised.value).startswith(f"strategy 'mine' ({kind}): ")
    assert message in str(raised.value)


def test_an_index_cannot_be_traded() -> None:
    with pytest.raises(StrategyConfigError, match="NIFTY 50 is an index"):
        build("rsi", name="mine", instrument=NIFTY, params={})


def test_an_order_too_large_to_reverse_is_rejected() -> None:
    with pytest.raises(StrategyConfigError, match="parameter lots"):
        build("rsi", name="mine", instrument=FUTURE, params={"lots": 100_000})


def test_registry_builds_each_kind_and_names_the_known_kinds_for_a_typo() -> None:
    assert sorted(STRATEGY_KINDS) == ["bollinger", "rsi", "sma_crossover"]
    for kind, cls in STRATEGY_KINDS.items():
        assert type(build(kind, name="s", instrument=RELIANCE, params={})) is cls
    with pytest.raises(StrategyConfigError, match=r"unknown kind 'sma'.*bollinger, rsi, sma_crossover"):
        build("sma", name="s", instrument=RELIANCE, params={})
