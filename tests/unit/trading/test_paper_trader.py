"""The paper trader: Zerodha's order rules against the signal's book, priced with Zerodha's charges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from alphapanda.events import Level, OrderStatus, OrderType, Product, Side, Signal, Tick
from trading.charges import Segment, fill_charges
from trading.instruments import Instrument
from trading.matching import RestingOrder
from trading.traders import paper

D = Decimal
ON = date(2025, 1, 15)
ZERO = D(0)
NO_SLIP = ZERO
EQUITY = Instrument(token=738561, symbol="RELIANCE", exchange="NSE")
FUTURE = Instrument(
    token=13238786,
    symbol="NIFTY25JANFUT",
    exchange="NFO",
    lot_size=50,
    instrument_type="FUT",
    segment="NFO-FUT",
)
BIDS = (Level(D("1399.95"), 100, 3),)
ASKS = (Level(D("1400.05"), 100, 4),)


def signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "strategy": "momentum",
        "instrument_token": EQUITY.token,
        "symbol": EQUITY.symbol,
        "exchange": EQUITY.exchange,
        "side": Side.BUY,
        "quantity": 10,
        "reference_price": D("1400.00"),
        "bids": BIDS,
        "asks": ASKS,
        "ts": 1_736_900_000_000_000_000,
    }
    fields.update(overrides)
    return Signal(**fields)


def tick(ltp: str, *, bids: tuple[Level, ...] = (), asks: tuple[Level, ...] = ()) -> Tick:
    return Tick(
        instrument_token=EQUITY.token,
        symbol=EQUITY.symbol,
        exchange=EQUITY.exchange,
        ltp=D(ltp),
        bids=bids,
        asks=asks,
        ts=1_736_900_001_000_000_000,
    )


def execute(sig: Signal, instrument: Instrument = EQUITY, slippage_bps: Decimal = NO_SLIP) -> paper.Execution:
    return paper.execute(sig, instrument, slippage_bps=slippage_bps, on=ON)


def on_tick(
    order: RestingOrder, new_tick: Tick, *, brokerage_so_far: Decimal = ZERO, slippage_bps: Decimal = NO_SLIP
) -> paper.Execution:
    return paper.on_tick(
        order,
        new_tick,
        EQUITY,
        product=Product.MIS,
        brokerage_so_far=brokerage_so_far,
        slippage_bps=slippage_bps,
        on=ON,
    )


def mis_equity(side: Side, quantity: int, price: str, so_far: str = "0"):
    return fill_charges(
        segment=Segment.EQUITY,
        product=Product.MIS,
        exchange="NSE",
        side=side,
        quantity=quantity,
        price=D(price),
        on=ON,
        order_brokerage_so_far=D(so_far),
    )


# --- market orders ---------------------------------------------------------------------------------


def test_execute_when_market_buy_with_slippage_then_one_fill_rounded_up_to_tick() -> None:
    result = execute(signal(), slippage_bps=D(2))
    # 1400.05 * 1.0002 = 1400.33001, rounded up (adverse for a buy) to the 0.05 tick.
    assert result.status is OrderStatus.COMPLETE
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1400.35"))]
    assert result.resting is None
    assert (result.reason, result.triggered) == ("", False)


def test_execute_when_market_buy_then_zerodha_mis_charges_of_the_fill() -> None:
    result = execute(signal(), slippage_bps=D(2))
    [fill] = result.fills
    assert fill.charges == mis_equity(Side.BUY, 10, "1400.35")
    # 0.03% of ₹14,003.50 = ₹4.20; no STT on an intraday buy; stamp 0.003% = ₹0.42.
    assert fill.charges.brokerage == D("4.20")
    assert fill.charges.stt == D("0.00")
    assert fill.charges.stamp == D("0.42")
    assert result.brokerage == D("4.20")


def test_execute_when_market_sell_with_slippage_then_rounded_down_and_stt_charged() -> None:
    result = execute(signal(side=Side.SELL), slippage_bps=D(2))
    # 1399.95 * 0.9998 = 1399.67001, rounded down (adverse for a sell) to 1399.65.
    [fill] = result.fills
    assert (fill.quantity, fill.price) == (10, D("1399.65"))
    assert fill.charges == mis_equity(Side.SELL, 10, "1399.65")
    assert fill.charges.stt == D("3.50")
    assert fill.charges.stamp == D("0.00")


@pytest.mark.parametrize(
    ("side", "book_price", "expected"),
    [(Side.BUY, "100.00", "100.05"), (Side.SELL, "100.00", "99.95")],
)
def test_execute_when_slippage_lands_between_ticks_then_rounded_adversely(
    side: Side, book_price: str, expected: str
) -> None:
    level = (Level(D(book_price), 1000),)
    sig = signal(side=side, reference_price=D(book_price), bids=level, asks=level)
    [fill] = execute(sig, slippage_bps=D(1)).fills  # 1 bp of ₹100 is one paisa: a fifth of a tick
    assert fill.price == D(expected)


def test_execute_when_no_slippage_then_fills_at_book_price() -> None:
    [fill] = execute(signal()).fills
    assert fill.price == D("1400.05")


def test_execute_when_order_walks_the_depth_then_one_fill_per_level() -> None:
    asks = (Level(D("1000.00"), 100), Level(D("1000.50"), 100), Level(D("1001.00"), 100))
    result = execute(signal(quantity=250, reference_price=D("1000"), asks=asks))
    assert [(f.quantity, f.price) for f in result.fills] == [
        (100, D("1000.00")),
        (100, D("1000.50")),
        (50, D("1001.00")),
    ]
    assert result.status is OrderStatus.COMPLETE


def test_execute_when_depth_walk_then_brokerage_cap_shared_across_fills() -> None:
    asks = (Level(D("1000.00"), 100), Level(D("1000.50"), 100), Level(D("1001.00"), 100))
    result = execute(signal(quantity=250, reference_price=D("1000"), asks=asks))
    # The first fill alone (₹1,00,000 at 0.03% = ₹30) reaches the ₹20 cap; the others pay none.
    assert [f.charges.brokerage for f in result.fills] == [D(20), D(0), D(0)]
    assert result.brokerage == D(20)
    assert sum(f.charges.gst for f in result.fills) == D("4.15") + D("0.55") + D("0.28")


def test_execute_when_cap_reached_midway_then_later_fill_pays_only_the_rest() -> None:
    asks = (Level(D("1000.00"), 40), Level(D("1000.50"), 40), Level(D("1001.00"), 40))
    result = execute(signal(quantity=120, reference_price=D("1000"), asks=asks))
    # ₹40,000 -> ₹12.00; ₹40,020 -> ₹12.01, capped at the ₹8 left; the third fill pays nothing.
    assert [f.charges.brokerage for f in result.fills] == [D("12.00"), D("8.00"), D(0)]
    assert result.brokerage <= D(20)
    assert result.brokerage == D(20)
    so_far = "0"
    for fill in result.fills:
        assert fill.charges == mis_equity(Side.BUY, fill.quantity, str(fill.price), so_far)
        so_far = str(D(so_far) + fill.charges.brokerage)


def test_execute_when_order_larger_than_depth_then_rest_fills_at_last_level() -> None:
    asks = (Level(D("1400.05"), 5), Level(D("1400.10"), 5))
    result = execute(signal(quantity=30, asks=asks))
    assert [(f.quantity, f.price) for f in result.fills] == [(5, D("1400.05")), (25, D("1400.10"))]
    assert sum(f.quantity for f in result.fills) == 30


def test_execute_when_book_empty_then_market_fills_at_reference_price() -> None:
    result = execute(signal(bids=(), asks=()))
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1400.00"))]


def test_execute_when_cnc_product_then_delivery_charges() -> None:
    [fill] = execute(signal(product=Product.CNC)).fills
    expected = fill_charges(
        segment=Segment.EQUITY,
        product=Product.CNC,
        exchange="NSE",
        side=Side.BUY,
        quantity=10,
        price=D("1400.05"),
        on=ON,
    )
    assert fill.charges == expected
    assert fill.charges.brokerage == D(0)


# --- order shape -----------------------------------------------------------------------------------


def test_execute_when_quantity_off_lot_size_then_rejected_with_reason() -> None:
    sig = signal(instrument_token=FUTURE.token, symbol=FUTURE.symbol, exchange="NFO", quantity=75)
    result = execute(sig, FUTURE)
    assert result.status is OrderStatus.REJECTED
    assert result.reason == "quantity 75 is not a positive multiple of the lot size 50"
    assert (result.fills, result.resting, result.triggered) == ((), None, False)
    assert result.brokerage == D(0)


def test_execute_when_quantity_is_whole_lots_then_filled_with_futures_charges() -> None:
    sig = signal(instrument_token=FUTURE.token, symbol=FUTURE.symbol, exchange="NFO", quantity=100)
    result = execute(sig, FUTURE)
    assert result.status is OrderStatus.COMPLETE
    [fill] = result.fills
    assert fill.charges == fill_charges(
        segment=Segment.FUTURES,
        product=Product.MIS,
        exchange="NFO",
        side=Side.BUY,
        quantity=100,
        price=D("1400.05"),
        on=ON,
    )


def test_execute_when_limit_price_off_tick_then_rejected_with_reason() -> None:
    result = execute(signal(order_type=OrderType.LIMIT, price=D("1400.03")))
    assert result.status is OrderStatus.REJECTED
    assert result.reason == "price 1400.03 is not a multiple of the tick size 0.05"


def test_execute_when_trigger_off_tick_then_rejected_with_reason() -> None:
    result = execute(signal(order_type=OrderType.SL_M, trigger_price=D("1410.01")))
    assert result.status is OrderStatus.REJECTED
    assert "trigger price 1410.01" in result.reason


# --- resting orders at placement -------------------------------------------------------------------


def test_execute_when_limit_below_the_ask_then_open_and_resting() -> None:
    result = execute(signal(order_type=OrderType.LIMIT, price=D("1399.00")))
    assert result.status is OrderStatus.OPEN
    assert result.fills == ()
    assert result.resting == RestingOrder(Side.BUY, 10, OrderType.LIMIT, D("1399.00"), None)
    assert result.triggered is False


def test_execute_when_limit_partly_marketable_then_fills_book_and_rests_rest() -> None:
    asks = (Level(D("1400.05"), 4), Level(D("1400.50"), 100))
    result = execute(signal(order_type=OrderType.LIMIT, price=D("1400.10"), asks=asks), slippage_bps=D(5))
    # A limit fills at the book's price (no slippage) and only within its price.
    assert [(f.quantity, f.price) for f in result.fills] == [(4, D("1400.05"))]
    assert result.status is OrderStatus.OPEN
    assert result.resting is not None and result.resting.quantity == 6


def test_execute_when_sl_trigger_not_reached_then_trigger_pending() -> None:
    sig = signal(order_type=OrderType.SL, price=D("1410.00"), trigger_price=D("1405.00"))
    result = execute(sig)
    assert result.status is OrderStatus.TRIGGER_PENDING
    assert result.fills == ()
    assert result.resting is not None and result.resting.triggered is False
    assert result.triggered is False


def test_execute_when_sl_m_trigger_not_reached_then_trigger_pending() -> None:
    result = execute(signal(order_type=OrderType.SL_M, trigger_price=D("1405.00")))
    assert result.status is OrderStatus.TRIGGER_PENDING
    assert result.triggered is False


def test_execute_when_sl_m_already_triggered_then_fills_now_and_marked_triggered() -> None:
    result = execute(signal(order_type=OrderType.SL_M, trigger_price=D("1395.00")))
    assert result.status is OrderStatus.COMPLETE
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1400.05"))]
    assert result.triggered is True


# --- resting orders on later ticks -----------------------------------------------------------------


def test_on_tick_when_ask_reaches_resting_limit_then_filled_at_book_price() -> None:
    order = RestingOrder(Side.BUY, 10, OrderType.LIMIT, D("1399.00"), None)
    result = on_tick(order, tick("1398.90", asks=(Level(D("1398.95"), 50),)))
    assert result.status is OrderStatus.COMPLETE
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1398.95"))]
    assert result.fills[0].charges == mis_equity(Side.BUY, 10, "1398.95")
    assert (result.resting, result.triggered) == (None, False)


def test_on_tick_when_market_away_from_limit_then_still_open() -> None:
    order = RestingOrder(Side.BUY, 10, OrderType.LIMIT, D("1399.00"), None)
    result = on_tick(order, tick("1400.00", asks=ASKS))
    assert result.status is OrderStatus.OPEN
    assert result.fills == ()
    assert result.resting == order


def test_on_tick_when_earlier_fills_paid_brokerage_then_cap_carries_over() -> None:
    order = RestingOrder(Side.BUY, 100, OrderType.LIMIT, D("1000.00"), None)
    result = on_tick(order, tick("999.95", asks=(Level(D("1000.00"), 100),)), brokerage_so_far=D(15))
    [fill] = result.fills
    assert fill.charges.brokerage == D(5)
    assert fill.charges == mis_equity(Side.BUY, 100, "1000.00", so_far="15")


def test_on_tick_when_cap_already_used_then_no_brokerage() -> None:
    order = RestingOrder(Side.SELL, 10, OrderType.LIMIT, D("1400.00"), None)
    result = on_tick(order, tick("1400.05", bids=(Level(D("1400.05"), 10),)), brokerage_so_far=D(20))
    assert result.brokerage == D(0)
    assert result.fills[0].charges.stt > 0


def test_on_tick_when_stop_not_reached_then_trigger_pending_and_not_triggered() -> None:
    order = RestingOrder(Side.SELL, 10, OrderType.SL_M, None, D("1390.00"))
    result = on_tick(order, tick("1395.00", bids=BIDS))
    assert result.status is OrderStatus.TRIGGER_PENDING
    assert (result.fills, result.triggered) == ((), False)
    assert result.resting == order


def test_on_tick_when_sl_m_triggered_and_filled_same_tick_then_complete_and_triggered() -> None:
    order = RestingOrder(Side.SELL, 10, OrderType.SL_M, None, D("1390.00"))
    result = on_tick(order, tick("1389.00", bids=(Level(D("1388.95"), 100),)), slippage_bps=D(2))
    # A stop-market fills like a market order: 1388.95 * 0.9998 = 1388.67221, down to 1388.65.
    assert result.status is OrderStatus.COMPLETE
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1388.65"))]
    assert result.fills[0].charges == mis_equity(Side.SELL, 10, "1388.65")
    assert result.resting is None
    assert result.triggered is True


def test_on_tick_when_sl_triggered_and_limit_reached_then_complete_and_triggered() -> None:
    order = RestingOrder(Side.BUY, 10, OrderType.SL, D("1410.00"), D("1405.00"))
    result = on_tick(order, tick("1406.00", asks=(Level(D("1406.05"), 100),)))
    assert result.status is OrderStatus.COMPLETE
    assert [(f.quantity, f.price) for f in result.fills] == [(10, D("1406.05"))]
    assert result.triggered is True


def test_on_tick_when_sl_triggered_but_limit_not_reached_then_open_and_triggered() -> None:
    order = RestingOrder(Side.BUY, 10, OrderType.SL, D("1410.00"), D("1405.00"))
    result = on_tick(order, tick("1406.00", asks=(Level(D("1412.00"), 100),)))
    assert result.status is OrderStatus.OPEN
    assert result.fills == ()
    assert result.resting is not None and result.resting.triggered is True
    assert result.triggered is True


def test_on_tick_when_limit_order_filled_then_not_marked_triggered() -> None:
    order = RestingOrder(Side.SELL, 10, OrderType.LIMIT, D("1400.00"), None)
    result = on_tick(order, tick("1400.00", bids=(Level(D("1400.00"), 10),)))
    assert result.status is OrderStatus.COMPLETE
    assert result.triggered is False


# --- helpers ---------------------------------------------------------------------------------------


def test_signal_tick_when_built_then_is_the_book_the_strategy_saw() -> None:
    sig = signal()
    book = paper.signal_tick(sig)
    assert (book.instrument_token, book.symbol, book.exchange) == (sig.instrument_token, "RELIANCE", "NSE")
    assert (book.ltp, book.bids, book.asks, book.ts) == (sig.reference_price, BIDS, ASKS, sig.ts)


def test_status_of_when_each_resting_state_then_matching_status() -> None:
    limit = RestingOrder(Side.BUY, 1, OrderType.LIMIT, D("100"), None)
    stop = RestingOrder(Side.BUY, 1, OrderType.SL, D("101"), D("100"))
    fired = RestingOrder(Side.BUY, 1, OrderType.SL, D("101"), D("100"), triggered=True)
    assert paper.status_of(None) is OrderStatus.COMPLETE
    assert paper.status_of(limit) is OrderStatus.OPEN
    assert paper.status_of(stop) is OrderStatus.TRIGGER_PENDING
    assert paper.status_of(fired) is OrderStatus.OPEN


def test_execution_brokerage_when_no_fills_then_zero() -> None:
    assert paper.Execution(OrderStatus.REJECTED).brokerage == D(0)
