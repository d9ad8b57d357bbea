from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphapanda.events import Level, OrderType, Side, Tick
from trading.matching import (
    RestingOrder,
    SimFill,
    check_order,
    evaluate_resting,
    market_fills,
    place,
    round_to_tick,
)

D = Decimal
TICK = D("0.05")
NO_SLIP = D(0)

BIDS = (Level(D("99.95"), 100), Level(D("99.90"), 200), Level(D("99.85"), 300))
ASKS = (Level(D("100.00"), 100), Level(D("100.05"), 200), Level(D("100.10"), 300))


def tick(ltp: str = "100", bids: tuple[Level, ...] = BIDS, asks: tuple[Level, ...] = ASKS) -> Tick:
    return Tick(instrument_token=1, symbol="INFY", exchange="NSE", ltp=D(ltp), bids=bids, asks=asks, ts=1)


def fills(*pairs: tuple[int, str]) -> list[SimFill]:
    return [SimFill(quantity, D(price)) for quantity, price in pairs]


def market(
    side: Side, quantity: int, *, slippage_bps: Decimal = NO_SLIP, book: Tick | None = None
) -> list[SimFill]:
    book = book or tick()
    return market_fills(
        side=side,
        quantity=quantity,
        bids=book.bids,
        asks=book.asks,
        ltp=book.ltp,
        slippage_bps=slippage_bps,
        tick_size=TICK,
    )


def place_order(
    side: Side,
    quantity: int,
    order_type: OrderType,
    *,
    price: str | None = None,
    trigger: str | None = None,
    book: Tick | None = None,
) -> tuple[RestingOrder | None, list[SimFill]]:
    return place(
        side=side,
        quantity=quantity,
        order_type=order_type,
        price=None if price is None else D(price),
        trigger_price=None if trigger is None else D(trigger),
        tick=book or tick(),
        slippage_bps=NO_SLIP,
        tick_size=TICK,
    )


def evaluate(order: RestingOrder, book: Tick) -> tuple[RestingOrder | None, list[SimFill]]:
    return evaluate_resting(order, book, slippage_bps=NO_SLIP, tick_size=TICK)


# --- tick size and order shape ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "up", "expected"),
    [
        ("100.01", True, "100.05"),
        ("100.01", False, "100.00"),
        ("100.05", True, "100.05"),
        ("99.99", False, "99.95"),
    ],
)
def test_round_to_tick_is_adverse(price: str, up: bool, expected: str) -> None:
    assert round_to_tick(D(price), TICK, up=up) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "lot_size", "price", "trigger", "problem"),
    [
        (75, 75, "100.05", None, None),
        (150, 75, None, "99.95", None),
        (0, 1, None, None, "lot size"),
        (-75, 75, None, None, "lot size"),
        (100, 75, None, None, "lot size"),
        (75, 75, "100.03", None, "price 100.03"),
        (75, 75, "100.05", "99.99", "trigger price 99.99"),
    ],
)
def test_check_order(
    quantity: int, lot_size: int, price: str | None, trigger: str | None, problem: str | None
) -> None:
    reason = check_order(
        quantity=quantity,
        lot_size=lot_size,
        price=None if price is None else D(price),
        trigger_price=None if trigger is None else D(trigger),
        tick_size=TICK,
    )
    if problem is None:
        assert reason is None
    else:
        assert reason is not None and problem in reason


# --- market orders --------------------------------------------------------------------------------


def test_market_buy_walks_asks_level_by_level() -> None:
    assert market(Side.BUY, 250) == fills((100, "100.00"), (150, "100.05"))


def test_market_sell_walks_bids_level_by_level() -> None:
    assert market(Side.SELL, 350) == fills((100, "99.95"), (200, "99.90"), (50, "99.85"))


def test_market_walks_best_first_whatever_the_book_order() -> None:
    shuffled = tick(asks=(ASKS[2], ASKS[0], ASKS[1]), bids=(BIDS[1], BIDS[2], BIDS[0]))
    assert market(Side.BUY, 150, book=shuffled) == fills((100, "100.00"), (50, "100.05"))
    assert market(Side.SELL, 150, book=shuffled) == fills((100, "99.95"), (50, "99.90"))


def test_leftover_beyond_depth_fills_at_last_level() -> None:
    # 600 visible on the ask side; the other 100 fill at the deepest ask
    assert market(Side.BUY, 700) == fills((100, "100.00"), (200, "100.05"), (400, "100.10"))


def test_empty_book_fills_at_ltp() -> None:
    assert market(Side.SELL, 10, book=tick(ltp="101.20", bids=(), asks=())) == fills((10, "101.20"))


def test_empty_levels_are_skipped() -> None:
    book = tick(asks=(Level(D("100.00"), 0), Level(D("100.05"), 50)))
    assert market(Side.BUY, 20, book=book) == fills((20, "100.05"))


@pytest.mark.parametrize(("side", "expected"), [(Side.BUY, "100.05"), (Side.SELL, "99.95")])
def test_slippage_moves_price_adversely_and_rounds_to_tick(side: Side, expected: str) -> None:
    # 100.00 * (1 ± 5 bps) = 100.05 / 99.95: already on the tick
    book = tick(bids=(Level(D("100.00"), 10),), asks=(Level(D("100.00"), 10),))
    assert market(side, 10, slippage_bps=D(5), book=book) == fills((10, expected))


@pytest.mark.parametrize(("side", "expected"), [(Side.BUY, "100.05"), (Side.SELL, "99.95")])
def test_slippage_off_tick_rounds_adversely(side: Side, expected: str) -> None:
    # 100.00 * (1 ± 2 bps) = 100.02 / 99.98, off the 0.05 grid: rounded away from the trader
    book = tick(bids=(Level(D("100.00"), 10),), asks=(Level(D("100.00"), 10),))
    assert market(side, 10, slippage_bps=D(2), book=book) == fills((10, expected))


def test_slipped_sell_never_prices_below_one_tick() -> None:
    # 0.05 * (1 - 50 bps) = 0.04975, which would floor to 0.00
    book = tick(ltp="0.05", bids=(Level(D("0.05"), 10),))
    assert market(Side.SELL, 10, slippage_bps=D(50), book=book) == fills((10, "0.05"))


def test_market_rejects_non_positive_quantity() -> None:
    with pytest.raises(ValueError, match="positive"):
        market(Side.BUY, 0)


@given(
    side=st.sampled_from(Side),
    quantity=st.integers(min_value=1, max_value=10_000),
    ticks=st.lists(
        st.tuples(st.integers(min_value=1, max_value=100_000), st.integers(min_value=0, max_value=5_000)),
        max_size=6,
    ),
    ltp_ticks=st.integers(min_value=1, max_value=100_000),
    slippage_bps=st.decimals(min_value=0, max_value=100, places=2),
    tick_size=st.sampled_from([D("0.01"), D("0.05"), D("0.10"), D("0.25"), D("1")]),
)
def test_market_fills_conserve_quantity_and_respect_tick(
    side: Side,
    quantity: int,
    ticks: list[tuple[int, int]],
    ltp_ticks: int,
    slippage_bps: Decimal,
    tick_size: Decimal,
) -> None:
    levels = tuple(Level(n * tick_size, size) for n, size in ticks)
    result = market_fills(
        side=side,
        quantity=quantity,
        bids=levels,
        asks=levels,
        ltp=ltp_ticks * tick_size,
        slippage_bps=slippage_bps,
        tick_size=tick_size,
    )
    assert sum(fill.quantity for fill in result) == quantity
    assert all(fill.quantity > 0 and fill.price > 0 for fill in result)
    assert all(fill.price % tick_size == 0 for fill in result)


# --- limit orders ---------------------------------------------------------------------------------


def test_marketable_limit_buy_fills_within_limit_and_rests_the_rest() -> None:
    # asks 100 @ 100.00, 200 @ 100.05 are within 100.05; 100.10 is not
    order, got = place_order(Side.BUY, 400, OrderType.LIMIT, price="100.05")
    assert got == fills((100, "100.00"), (200, "100.05"))
    assert order == RestingOrder(Side.BUY, 100, OrderType.LIMIT, D("100.05"), None)


def test_marketable_limit_sell_fills_completely() -> None:
    order, got = place_order(Side.SELL, 250, OrderType.LIMIT, price="99.90")
    assert order is None
    assert got == fills((100, "99.95"), (150, "99.90"))


def test_limit_fills_at_book_price_without_slippage() -> None:
    order, got = place(
        side=Side.BUY,
        quantity=50,
        order_type=OrderType.LIMIT,
        price=D("100.50"),
        trigger_price=None,
        tick=tick(),
        slippage_bps=D(50),
        tick_size=TICK,
    )
    assert (order, got) == (None, fills((50, "100.00")))


def test_non_marketable_limit_rests() -> None:
    order, got = place_order(Side.BUY, 100, OrderType.LIMIT, price="99.50")
    assert got == []
    assert order == RestingOrder(Side.BUY, 100, OrderType.LIMIT, D("99.50"), None)


def test_resting_limit_filled_by_later_tick() -> None:
    order, _ = place_order(Side.BUY, 100, OrderType.LIMIT, price="99.50")
    assert order is not None
    later = tick(ltp="99.45", asks=(Level(D("99.40"), 60), Level(D("99.50"), 100)))
    assert evaluate(order, later) == (None, fills((60, "99.40"), (40, "99.50")))


def test_partial_fill_then_rest_then_complete() -> None:
    order, got = place_order(
        Side.SELL, 300, OrderType.LIMIT, price="100.00", book=tick(bids=(Level(D("100.00"), 120),))
    )
    assert got == fills((120, "100.00"))
    assert order is not None and order.quantity == 180
    order, got = evaluate(order, tick(bids=(Level(D("100.10"), 500),)))
    assert (order, got) == (None, fills((180, "100.10")))


def test_no_fill_when_market_does_not_reach_limit() -> None:
    order = RestingOrder(Side.SELL, 100, OrderType.LIMIT, D("101.00"), None)
    assert evaluate(order, tick(ltp="100.95")) == (order, [])


@pytest.mark.parametrize(
    ("side", "ltp", "filled"),
    [
        (Side.BUY, "99.90", True),
        (Side.BUY, "100.05", False),
        (Side.SELL, "100.05", True),
        (Side.SELL, "99.95", False),
    ],
)
def test_limit_without_depth_fills_at_limit_when_ltp_reaches_it(side: Side, ltp: str, filled: bool) -> None:
    order = RestingOrder(side, 100, OrderType.LIMIT, D("100.00"), None)
    remaining, got = evaluate(order, tick(ltp=ltp, bids=(), asks=()))
    assert (remaining, got) == ((None, fills((100, "100.00"))) if filled else (order, []))


# --- stop orders ----------------------------------------------------------------------------------


def test_sl_buy_rests_until_ltp_rises_to_trigger_then_acts_as_limit() -> None:
    order, got = place_order(Side.BUY, 100, OrderType.SL, price="101.00", trigger="100.90")
    assert got == [] and order is not None and not order.triggered
    assert evaluate(order, tick(ltp="100.85")) == (order, [])
    # triggered, and the same tick's asks within 101.00 fill it
    risen = tick(ltp="100.90", asks=(Level(D("100.95"), 40), Level(D("101.05"), 500)))
    order, got = evaluate(order, risen)
    assert got == fills((40, "100.95"))
    assert order == RestingOrder(Side.BUY, 60, OrderType.SL, D("101.00"), D("100.90"), triggered=True)
    # once triggered it stays a limit, even if ltp falls back below the trigger
    assert evaluate(order, tick(ltp="100.50", asks=(Level(D("100.55"), 100),))) == (
        None,
        fills((60, "100.55")),
    )


def test_sl_sell_triggers_when_ltp_falls_to_trigger() -> None:
    order = RestingOrder(Side.SELL, 100, OrderType.SL, D("98.90"), D("99.00"))
    assert evaluate(order, tick(ltp="99.05")) == (order, [])
    fallen = tick(ltp="99.00", bids=(Level(D("98.95"), 100), Level(D("98.85"), 100)))
    assert evaluate(order, fallen) == (None, fills((100, "98.95")))


def test_triggered_sl_that_cannot_fill_rests_as_triggered() -> None:
    order = RestingOrder(Side.SELL, 100, OrderType.SL, D("98.90"), D("99.00"))
    gapped = tick(ltp="98.00", bids=(Level(D("97.95"), 500),))
    remaining, got = evaluate(order, gapped)
    assert got == []
    assert remaining == RestingOrder(Side.SELL, 100, OrderType.SL, D("98.90"), D("99.00"), triggered=True)


@pytest.mark.parametrize(
    ("side", "trigger", "ltp", "expected"),
    [(Side.BUY, "100.50", "100.50", (100, "100.00")), (Side.SELL, "99.50", "99.50", (100, "99.95"))],
)
def test_sl_m_triggers_then_fills_as_market(
    side: Side, trigger: str, ltp: str, expected: tuple[int, str]
) -> None:
    order = RestingOrder(side, 100, OrderType.SL_M, None, D(trigger))
    assert evaluate(order, tick(ltp="100.00")) == (order, [])
    assert evaluate(order, tick(ltp=ltp)) == (None, fills(expected))


def test_sl_m_fill_takes_slippage() -> None:
    order = RestingOrder(Side.SELL, 100, OrderType.SL_M, None, D("99.50"))
    _, got = evaluate_resting(order, tick(ltp="99.50"), slippage_bps=D(5), tick_size=TICK)
    # 99.95 * (1 - 5 bps) = 99.900025 -> 99.90
    assert got == fills((100, "99.90"))


def test_stop_already_triggered_at_placement_fills_at_once() -> None:
    order, got = place_order(Side.SELL, 100, OrderType.SL_M, trigger="100.50")
    assert (order, got) == (None, fills((100, "99.95")))


def test_market_placement_fills_whole() -> None:
    assert place_order(Side.BUY, 700, OrderType.MARKET) == (
        None,
        fills((100, "100.00"), (200, "100.05"), (400, "100.10")),
    )


@pytest.mark.parametrize(
    ("order_type", "price", "trigger"),
    [
        (OrderType.LIMIT, None, None),
        (OrderType.SL, None, D(1)),
        (OrderType.SL, D(1), None),
        (OrderType.SL_M, None, None),
    ],
)
def test_resting_order_needs_its_prices(
    order_type: OrderType, price: Decimal | None, trigger: Decimal | None
) -> None:
    with pytest.raises(ValueError, match="needs"):
        RestingOrder(Side.BUY, 1, order_type, price, trigger)
