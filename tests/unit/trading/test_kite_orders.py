"""The sandbox exchange on its own: Kite's order lifecycle, matching, validation and the views."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from trading.instruments import Instrument
from trading.kite_sandbox import orders as o
from trading.kite_sandbox.orders import KiteError, Market, OrderBook

D = Decimal
NOW = datetime(2026, 1, 5, 10, 15, 0)
EPOCH = int(NOW.timestamp())
INFY = Instrument(token=408065, symbol="INFY", exchange="NSE", last_price=D("1500"), tick_size=D("0.05"))
FUT = Instrument(
    token=(54321 << 8) | 2,
    symbol="INFY26JANFUT",
    exchange="NFO",
    lot_size=400,
    tick_size=D("0.10"),
    last_price=D("1505"),
    instrument_type="FUT",
    segment="NFO-FUT",
    expiry=date(2026, 1, 27),
)
NIFTY = Instrument(token=256265, symbol="NIFTY 50", exchange="NSE", last_price=D("23500"), segment="INDICES")
LIFECYCLE = [o.PUT_ORDER_REQ_RECEIVED, o.VALIDATION_PENDING, o.OPEN_PENDING, o.OPEN]


@pytest.fixture
def market() -> Market:
    return Market([INFY, FUT, NIFTY], seed=3)


@pytest.fixture
def book(market: Market) -> OrderBook:
    return OrderBook(market, user_id="SB0001")


def form(**fields: object) -> dict[str, str]:
    base = {
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "product": "MIS",
        "order_type": "MARKET",
        "market_protection": -1,
    }
    return {name: str(value) for name, value in (base | fields).items() if value is not None}


def place(book: OrderBook, **fields: object) -> tuple[str, list[o.Event]]:
    """Place and walk the order until it settles (OPEN, TRIGGER PENDING or final)."""
    order = book.place(form(**fields), variety="regular", now=NOW)
    return order.order_id, settle(book, order.order_id)


def settle(book: OrderBook, order_id: str) -> list[o.Event]:
    events: list[o.Event] = []
    while book.in_progress(order_id):
        events += book.advance(order_id, now=NOW)
    return events


def status(book: OrderBook, order_id: str) -> dict:
    return book.history(order_id)[-1]


def best(market: Market, side: str, token: int = INFY.token) -> o.ticks.DepthLevel:
    tick = market.tick(token, EPOCH)
    return (tick.sell if side == "BUY" else tick.buy)[0]


def test_a_market_order_walks_kites_lifecycle_to_complete(book: OrderBook, market: Market) -> None:
    ask = best(market, "BUY")
    order_id, events = place(book, quantity=1, tag="strat-1", algo_id="algo-7")
    statuses = [state["status"] for state in book.history(order_id)]
    assert statuses == [*LIFECYCLE, o.COMPLETE]
    final = status(book, order_id)
    assert (final["filled_quantity"], final["pending_quantity"], final["cancelled_quantity"]) == (1, 0, 0)
    assert final["average_price"] == float(ask.price)
    assert (final["tag"], final["tags"], final["algo_id"]) == ("strat-1", ["strat-1"], "algo-7")
    assert final["exchange_order_id"] and len(final["order_timestamp"]) == 19
    assert [event.status for event in events] == [o.COMPLETE]
    assert events[0].trade == book.trades(order_id)[0]


def test_an_order_larger_than_the_best_level_fills_in_partial_trades(book: OrderBook, market: Market) -> None:
    asks = market.tick(INFY.token, EPOCH).sell
    quantity = asks[0].quantity + asks[1].quantity + 1
    order_id, events = place(book, quantity=quantity)
    trades = book.trades(order_id)
    assert [(t["quantity"], t["average_price"]) for t in trades] == [
        (asks[0].quantity, float(asks[0].price)),
        (asks[1].quantity, float(asks[1].price)),
        (1, float(asks[2].price)),
    ]
    assert len({t["trade_id"] for t in trades}) == 3
    assert [event.status for event in events] == [o.UPDATE, o.UPDATE, o.COMPLETE]
    assert [event.order["filled_quantity"] for event in events] == [
        asks[0].quantity,
        asks[0].quantity + asks[1].quantity,
        quantity,
    ]
    value = sum(level.quantity * level.price for level in asks[:2]) + asks[2].price
    assert status(book, order_id)["average_price"] == float(value / quantity)


def test_market_protection_caps_the_price_and_the_rest_waits(book: OrderBook, market: Market) -> None:
    asks = market.tick(INFY.token, EPOCH).sell
    within = sum(level.quantity for level in asks[:2])  # 0.007 % of 1500 is 0.105: two ticks up, 1500.10
    order_id, _ = place(book, quantity=within + 5, market_protection="0.007")
    state = status(book, order_id)
    assert (state["status"], state["filled_quantity"], state["pending_quantity"]) == (o.OPEN, within, 5)
    assert max(t["average_price"] for t in book.trades(order_id)) == 1500.10


def test_a_limit_order_rests_until_the_last_price_reaches_it(book: OrderBook, market: Market) -> None:
    order_id, events = place(book, order_type="LIMIT", price="1490", market_protection=None)
    assert (status(book, order_id)["status"], events) == (o.OPEN, [])
    market.set_price(INFY.token, "1490.05", EPOCH)
    assert book.on_market([INFY.token], now=NOW) == []
    market.set_price(INFY.token, "1490", EPOCH)
    events = book.on_market([INFY.token], now=NOW)
    assert [event.status for event in events] == [o.COMPLETE]
    assert [(t["quantity"], t["average_price"]) for t in book.trades(order_id)] == [(10, 1490.0)]
    assert book.on_market([INFY.token], now=NOW) == []  # a complete order never fills again


def test_a_resting_order_ignores_other_instruments(book: OrderBook, market: Market) -> None:
    order_id, _ = place(book, order_type="LIMIT", price="1490", market_protection=None)
    market.set_price(INFY.token, "1400", EPOCH)
    assert book.on_market([FUT.token], now=NOW) == []
    assert status(book, order_id)["status"] == o.OPEN


def test_a_stop_limit_buy_waits_for_its_trigger_then_works_as_a_limit(
    book: OrderBook, market: Market
) -> None:
    order_id, _ = place(
        book, quantity=1, order_type="SL", trigger_price="1510", price="1511", market_protection=None
    )
    assert status(book, order_id)["status"] == o.TRIGGER_PENDING
    market.set_price(INFY.token, "1509.95", EPOCH)
    assert book.on_market([INFY.token], now=NOW) == []
    market.set_price(INFY.token, "1510", EPOCH)
    events = book.on_market([INFY.token], now=NOW)
    assert [event.status for event in events] == [o.COMPLETE]
    assert book.trades(order_id)[0]["average_price"] == 1510.05  # the best ask, within the 1511 limit
    statuses = [state["status"] for state in book.history(order_id)]
    assert statuses == [*LIFECYCLE[:3], o.TRIGGER_PENDING, o.OPEN, o.COMPLETE]


def test_a_stop_market_sell_triggers_at_or_below_and_sells_at_the_bid(
    book: OrderBook, market: Market
) -> None:
    order_id, _ = place(book, quantity=1, transaction_type="SELL", order_type="SL-M", trigger_price="1495")
    assert status(book, order_id)["status"] == o.TRIGGER_PENDING
    market.set_price(INFY.token, "1495", EPOCH)
    assert [event.status for event in book.on_market([INFY.token], now=NOW)] == [o.COMPLETE]
    assert book.trades(order_id)[0]["average_price"] == 1494.95


def test_cancel_cancels_what_is_left(book: OrderBook, market: Market) -> None:
    asks = market.tick(INFY.token, EPOCH).sell
    limit = asks[1].price  # takes the first two levels, the rest waits
    quantity = asks[0].quantity + asks[1].quantity + 40
    order_id, _ = place(book, quantity=quantity, order_type="LIMIT", price=limit, market_protection=None)
    assert status(book, order_id)["pending_quantity"] == 40
    book.cancel(order_id, now=NOW)
    assert status(book, order_id)["status"] == o.CANCEL_PENDING
    events = settle(book, order_id)
    final = status(book, order_id)
    assert [event.status for event in events] == [o.CANCELLED]
    assert (final["status"], final["filled_quantity"]) == (o.CANCELLED, quantity - 40)
    assert (final["cancelled_quantity"], final["pending_quantity"]) == (40, 0)
    with pytest.raises(KiteError, match="cannot be cancelled as it is cancelled"):
        book.cancel(order_id, now=NOW)


def test_an_order_being_processed_cannot_be_modified_or_cancelled(book: OrderBook) -> None:
    order = book.place(form(order_type="LIMIT", price="1490"), variety="regular", now=NOW)
    with pytest.raises(KiteError, match="being processed"):
        book.cancel(order.order_id, now=NOW)
    with pytest.raises(KiteError, match="being processed"):
        book.modify(order.order_id, {"price": "1491"}, now=NOW)


def test_modify_goes_through_kites_modify_states_and_reprices(book: OrderBook, market: Market) -> None:
    order_id, _ = place(book, order_type="LIMIT", price="1490", market_protection=None)
    book.modify(order_id, {"price": "1480", "quantity": "20"}, now=NOW)
    events = settle(book, order_id)
    history = [state["status"] for state in book.history(order_id)]
    assert history[-4:] == [o.MODIFY_VALIDATION_PENDING, o.MODIFY_PENDING, o.MODIFIED, o.OPEN]
    assert [event.status for event in events] == [o.UPDATE]
    state = status(book, order_id)
    assert (state["price"], state["quantity"], state["modified"]) == (1480.0, 20, True)
    market.set_price(INFY.token, "1485", EPOCH)
    assert book.on_market([INFY.token], now=NOW) == []
    market.set_price(INFY.token, "1480", EPOCH)
    book.on_market([INFY.token], now=NOW)
    assert [(t["quantity"], t["average_price"]) for t in book.trades(order_id)] == [(20, 1480.0)]


def test_modify_is_validated_like_a_placement(book: OrderBook) -> None:
    order_id, _ = place(book, order_type="LIMIT", price="1490", market_protection=None)
    with pytest.raises(KiteError, match="tick size"):
        book.modify(order_id, {"price": "1480.01"}, now=NOW)
    with pytest.raises(KiteError, match="market_protection"):
        book.modify(order_id, {"order_type": "MARKET"}, now=NOW)
    assert status(book, order_id)["status"] == o.OPEN


def test_a_complete_order_cannot_be_modified(book: OrderBook) -> None:
    order_id, _ = place(book, quantity=1)
    with pytest.raises(KiteError, match="cannot be modified as it is complete"):
        book.modify(order_id, {"quantity": "2"}, now=NOW)


def test_an_injected_reject_happens_at_validation_with_its_message(book: OrderBook) -> None:
    order = book.place(form(), variety="regular", now=NOW, reject="RMS: blocked")
    events = settle(book, order.order_id)
    assert [state["status"] for state in book.history(order.order_id)] == [*LIFECYCLE[:2], o.REJECTED]
    assert [(e.status, e.order["status_message"]) for e in events] == [(o.REJECTED, "RMS: blocked")]
    assert book.trades() == []


def test_a_buy_beyond_the_cash_is_rejected_by_the_rms(book: OrderBook) -> None:
    order_id, events = place(book, quantity=700)  # about 10.5 lakh against 10 lakh
    assert [event.status for event in events] == [o.REJECTED]
    assert status(book, order_id)["status_message"].startswith("Insufficient funds. Required margin is")


def test_ioc_cancels_what_does_not_fill_at_once(book: OrderBook) -> None:
    order_id, events = place(book, order_type="LIMIT", price="1490", validity="IOC", market_protection=None)
    assert [event.status for event in events] == [o.CANCELLED]
    assert status(book, order_id)["cancelled_quantity"] == 10


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tag": "x" * 21}, "tag"),
        ({"market_protection": None}, "market_protection"),
        ({"market_protection": "0"}, "market_protection"),
        ({"market_protection": "100.5"}, "market_protection"),
        ({"order_type": "SL-M", "trigger_price": "1510", "market_protection": None}, "market_protection"),
        ({"order_type": "LIMIT", "price": "1490.03"}, "tick size"),
        ({"order_type": "LIMIT"}, "`price` is required"),
        ({"order_type": "SL", "price": "1490"}, "`trigger_price` is required"),
        ({"order_type": "SL", "price": "1490", "trigger_price": "1495"}, "Trigger price"),
        ({"exchange": "NFO", "tradingsymbol": FUT.symbol, "quantity": 10}, "lot size 400"),
        ({"quantity": "0"}, "positive multiple"),
        ({"quantity": "ten"}, "Invalid `quantity`"),
        ({"tradingsymbol": "NOPE"}, "tradingsymbol"),
        ({"tradingsymbol": "NIFTY 50"}, "index"),
        ({"product": "BO"}, "product"),
        ({"transaction_type": "HOLD"}, "transaction_type"),
        ({"order_type": "STOP"}, "order_type"),
        ({"validity": "TTL"}, "validity"),
    ],
)
def test_invalid_orders_are_input_exceptions_and_create_nothing(
    book: OrderBook, fields: dict, message: str
) -> None:
    with pytest.raises(KiteError, match=message) as refused:
        book.place(form(**fields), variety="regular", now=NOW)
    assert (refused.value.error_type, refused.value.status) == ("InputException", 400)
    assert book.orders() == []


def test_only_regular_orders_are_taken(book: OrderBook) -> None:
    with pytest.raises(KiteError, match="regular"):
        book.place(form(), variety="amo", now=NOW)


@pytest.mark.parametrize("protection", ["-1", "0.5", "100"])
def test_market_protection_may_be_automatic_or_a_percentage(book: OrderBook, protection: str) -> None:
    order = book.place(form(market_protection=protection), variety="regular", now=NOW)
    assert order.terms.market_protection == D(protection)


def test_a_tag_of_twenty_characters_is_accepted(book: OrderBook) -> None:
    assert book.place(form(tag="x" * 20), variety="regular", now=NOW).tag == "x" * 20


def test_a_whole_lot_of_a_future_is_accepted(book: OrderBook) -> None:
    order_id, _ = place(book, exchange="NFO", tradingsymbol=FUT.symbol, quantity=400, product="NRML")
    assert status(book, order_id)["status"] == o.COMPLETE


def test_positions_and_margins_follow_the_fills(book: OrderBook, market: Market) -> None:
    bought, _ = place(book, order_type="LIMIT", price="1500", market_protection=None)
    market.set_price(INFY.token, "1500", EPOCH)
    book.on_market([INFY.token], now=NOW)
    sold, _ = place(
        book, transaction_type="SELL", quantity=4, order_type="LIMIT", price="1510", market_protection=None
    )
    market.set_price(INFY.token, "1510", EPOCH)
    book.on_market([INFY.token], now=NOW)
    assert [status(book, i)["status"] for i in (bought, sold)] == [o.COMPLETE, o.COMPLETE]
    positions = book.positions()
    (row,) = positions["net"]
    assert positions["day"] == positions["net"]
    assert (row["quantity"], row["buy_quantity"], row["sell_quantity"]) == (6, 10, 4)
    assert (row["buy_value"], row["sell_value"], row["average_price"]) == (15000.0, 6040.0, 1500.0)
    assert (row["pnl"], row["realised"], row["unrealised"]) == (100.0, 40.0, 60.0)
    equity = book.margins()["equity"]
    assert equity["net"] == equity["available"]["live_balance"] == 1_000_000 - 15000 + 6040
    assert (equity["utilised"]["debits"], equity["utilised"]["turnover"]) == (8960.0, 21040.0)
    assert book.margins()["commodity"]["enabled"] is False


def test_the_same_seed_walks_the_same_market() -> None:
    first, second = Market([INFY, FUT, NIFTY], seed=11), Market([INFY, FUT, NIFTY], seed=11)
    for step in range(20):
        assert first.walk(EPOCH + step) == second.walk(EPOCH + step)
    assert [first.tick(i.token, EPOCH) for i in (INFY, FUT, NIFTY)] == [
        second.tick(i.token, EPOCH) for i in (INFY, FUT, NIFTY)
    ]


def test_the_walk_keeps_prices_on_the_tick_grid_and_indices_bookless(market: Market) -> None:
    for step in range(50):
        market.walk(EPOCH + step)
    for instrument in (INFY, FUT):
        tick = market.tick(instrument.token, EPOCH)
        assert tick.last_price % instrument.tick_size == 0
        assert tick.buy[0].price < tick.last_price < tick.sell[0].price
        assert len(tick.buy) == len(tick.sell) == 5
        assert all(level.quantity % instrument.lot_size == 0 for level in tick.buy + tick.sell)
    index = market.tick(NIFTY.token, EPOCH)
    assert (index.buy, index.sell, index.volume_traded) == ((), (), 0)


def test_set_price_rounds_to_the_tick_grid(market: Market) -> None:
    market.set_price(INFY.token, "1499.93", EPOCH)
    assert market.ltp(INFY.token) == D("1499.95")
