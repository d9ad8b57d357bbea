"""The Kite sandbox against the real kiteconnect clients: login, orders, reads, faults, postbacks, ticker.

Needs no Kafka, Redis or PostgreSQL: each test starts its own sandbox on a free port.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect, KiteTicker
from kiteconnect import exceptions as kex

from trading.instruments import Instrument, load_csv
from trading.kite_sandbox.checksum import postback_checksum
from trading.kite_sandbox.server import REJECT_MESSAGE, KiteSandbox

T = TypeVar("T")

API_KEY = "sandbox-test-key"
API_SECRET = "sandbox-test-secret"
INFY = 408065
NIFTY = 256265
FUT = Instrument(
    token=(54321 << 8) | 2,
    symbol="INFY26JANFUT",
    exchange="NFO",
    lot_size=400,
    tick_size=Decimal("0.10"),
    last_price=Decimal("1505"),
    instrument_type="FUT",
    segment="NFO-FUT",
    expiry=date(2026, 1, 27),
)
INSTRUMENTS = [*load_csv(), FUT]
LIFECYCLE = ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING", "OPEN"]
TRADE_FIELDS = {
    "trade_id",
    "order_id",
    "exchange_order_id",
    "tradingsymbol",
    "exchange",
    "instrument_token",
    "product",
    "average_price",
    "quantity",
    "fill_timestamp",
    "transaction_type",
}


@pytest.fixture
def postbacks() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A tiny HTTP receiver standing in for the app's postback URL."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/kite/postback", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def sandbox(postbacks: tuple[str, queue.Queue]) -> Iterator[KiteSandbox]:
    box = KiteSandbox(
        api_key=API_KEY, api_secret=API_SECRET, instruments=INSTRUMENTS, postback_url=postbacks[0], seed=7
    )
    box.start()
    yield box
    box.stop()


@pytest.fixture
def kite(sandbox: KiteSandbox) -> KiteConnect:
    return login(sandbox)


def login(sandbox: KiteSandbox, **options: Any) -> KiteConnect:
    """The whole login flow: login page, redirect with a request token, generate_session."""
    kite = KiteConnect(API_KEY, root=sandbox.url, **options)
    kite._default_login_uri = f"{sandbox.url}/connect/login"  # login_url() ignores root (KITE.md §1)
    kite.generate_session(request_token(kite), API_SECRET)
    return kite


def request_token(kite: KiteConnect) -> str:
    redirect = requests.get(kite.login_url(), allow_redirects=False, timeout=5)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert (query["action"], query["status"]) == (["login"], ["success"])
    return query["request_token"][0]


def wait_for(condition: Callable[[], T], *, timeout: float = 5.0, what: str = "the condition") -> T:
    """Poll until `condition()` is truthy and return it; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
    return value


def settled(kite: KiteConnect, order_id: str, status: str) -> list[dict[str, Any]]:
    """Wait until the order's latest state is `status`; returns its history."""

    def history() -> list[dict[str, Any]] | None:
        states = kite.order_history(order_id)
        return states if states[-1]["status"] == status else None

    return wait_for(history, what=f"order {order_id} to be {status}")


def buy(kite: KiteConnect, quantity: int, **fields: Any) -> str:
    """An INFY buy, MARKET with automatic protection unless `fields` say otherwise."""
    order = {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": quantity,
        "product": "MIS",
        "order_type": "MARKET",
        "market_protection": -1,
    }
    return kite.place_order(**(order | fields))


def limit_buy(kite: KiteConnect, quantity: int, price: float, **fields: Any) -> str:
    return buy(kite, quantity, order_type="LIMIT", price=price, market_protection=None, **fields)


def ltp(kite: KiteConnect) -> float:
    return kite.ltp("NSE:INFY")["NSE:INFY"]["last_price"]


def through_two_levels(kite: KiteConnect, sandbox: KiteSandbox) -> tuple[str, list[dict[str, Any]]]:
    """Freeze the market and buy one more than the two best asks hold: three partial trades."""
    sandbox.freeze_market()
    asks = kite.quote("NSE:INFY")["NSE:INFY"]["depth"]["sell"]
    return buy(kite, asks[0]["quantity"] + asks[1]["quantity"] + 1), asks


def test_login_redirects_with_a_request_token_and_the_checksum_is_checked(sandbox: KiteSandbox) -> None:
    kite = KiteConnect(API_KEY, root=sandbox.url)
    kite._default_login_uri = f"{sandbox.url}/connect/login"
    token = request_token(kite)
    with pytest.raises(kex.TokenException, match="checksum"):
        kite.generate_session(token, "not-the-secret")
    session = kite.generate_session(token, API_SECRET)
    assert isinstance(session["login_time"], datetime)
    assert kite.access_token == session["access_token"]
    assert kite.profile()["user_id"] == session["user_id"]
    with pytest.raises(kex.TokenException):  # a request token makes one session
        kite.generate_session(token, API_SECRET)
    kite.invalidate_access_token()
    with pytest.raises(kex.TokenException):
        kite.profile()


def test_a_market_order_completes_with_trades_summing_to_its_quantity(kite: KiteConnect) -> None:
    order_id = buy(kite, 5, tag="sandbox-test", algo_id="algo-1")
    history = settled(kite, order_id, "COMPLETE")
    assert [state["status"] for state in history[:4]] == LIFECYCLE
    trades = kite.order_trades(order_id)
    assert all(trade.keys() >= TRADE_FIELDS for trade in trades)
    assert sum(trade["quantity"] for trade in trades) == 5
    assert {(t["order_id"], t["tradingsymbol"], t["transaction_type"]) for t in trades} == {
        (order_id, "INFY", "BUY")
    }
    assert all(isinstance(trade["fill_timestamp"], datetime) for trade in trades)
    final = history[-1]
    assert (final["filled_quantity"], final["pending_quantity"]) == (5, 0)
    assert final["average_price"] == pytest.approx(
        sum(t["quantity"] * t["average_price"] for t in trades) / 5
    )
    (listed,) = kite.orders()
    assert (listed["order_id"], listed["status"], listed["tag"]) == (order_id, "COMPLETE", "sandbox-test")
    assert isinstance(listed["order_timestamp"], datetime)


def test_a_large_market_order_fills_in_several_partial_trades(
    kite: KiteConnect, sandbox: KiteSandbox
) -> None:
    order_id, asks = through_two_levels(kite, sandbox)
    settled(kite, order_id, "COMPLETE")
    trades = kite.order_trades(order_id)
    assert [(t["quantity"], t["average_price"]) for t in trades] == [
        (asks[0]["quantity"], asks[0]["price"]),
        (asks[1]["quantity"], asks[1]["price"]),
        (1, asks[2]["price"]),
    ]
    assert len({trade["trade_id"] for trade in trades}) == 3
    assert [t["trade_id"] for t in kite.trades()] == [t["trade_id"] for t in trades]


def test_postbacks_follow_each_fill_with_a_checksum_that_verifies(
    kite: KiteConnect, sandbox: KiteSandbox, postbacks: tuple[str, queue.Queue]
) -> None:
    order_id, asks = through_two_levels(kite, sandbox)
    received = [postbacks[1].get(timeout=5) for _ in range(3)]
    assert [(p["order_id"], p["status"]) for p in received] == [
        (order_id, "UPDATE"),
        (order_id, "UPDATE"),
        (order_id, "COMPLETE"),
    ]
    quantity = asks[0]["quantity"] + asks[1]["quantity"] + 1
    assert [p["unfilled_quantity"] for p in received] == [quantity - asks[0]["quantity"], 1, 0]
    for postback in received:
        assert postback["checksum"] == postback_checksum(order_id, postback["order_timestamp"], API_SECRET)
        assert (postback["user_id"], postback["app_id"]) == ("SB0001", 1)
    assert wait_for(lambda: sandbox.state()["postbacks"]["sent"] == 3, what="3 postbacks sent")


def test_a_limit_order_rests_until_set_price_reaches_it(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    sandbox.freeze_market()
    limit = round(ltp(kite) - 10, 2)
    order_id = limit_buy(kite, 3, limit)
    settled(kite, order_id, "OPEN")
    assert kite.order_trades(order_id) == []
    sandbox.set_price(INFY, limit)
    settled(kite, order_id, "COMPLETE")
    assert [(t["quantity"], t["average_price"]) for t in kite.order_trades(order_id)] == [(3, limit)]


def test_cancel_an_open_order(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    sandbox.freeze_market()
    order_id = limit_buy(kite, 3, round(ltp(kite) - 10, 2))
    settled(kite, order_id, "OPEN")
    assert kite.cancel_order("regular", order_id) == order_id
    final = settled(kite, order_id, "CANCELLED")[-1]
    assert (final["cancelled_quantity"], final["filled_quantity"], final["pending_quantity"]) == (3, 0, 0)
    with pytest.raises(kex.InputException, match="cancelled"):
        kite.cancel_order("regular", order_id)


def test_modify_an_open_order_then_fill_it_at_the_new_price(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    sandbox.freeze_market()
    price = ltp(kite)
    order_id = limit_buy(kite, 3, round(price - 10, 2))
    settled(kite, order_id, "OPEN")
    new_price = round(price - 20, 2)
    assert kite.modify_order("regular", order_id, quantity=4, price=new_price) == order_id
    history = wait_for(
        lambda: (
            (states := kite.order_history(order_id))[-1]["status"] == "OPEN"
            and "MODIFIED" in [s["status"] for s in states]
            and states
        ),
        what="the modification",
    )
    assert (history[-1]["quantity"], history[-1]["price"]) == (4, new_price)
    sandbox.set_price(INFY, new_price)
    settled(kite, order_id, "COMPLETE")
    assert [(t["quantity"], t["average_price"]) for t in kite.order_trades(order_id)] == [(4, new_price)]


def test_an_injected_reject_comes_after_acceptance_with_a_status_message(
    kite: KiteConnect, sandbox: KiteSandbox
) -> None:
    sandbox.fail_next("POST /orders/*", "reject")
    order_id = buy(kite, 1)
    final = settled(kite, order_id, "REJECTED")[-1]
    assert final["status_message"] == REJECT_MESSAGE
    assert kite.order_trades(order_id) == []
    assert settled(kite, buy(kite, 1), "COMPLETE")  # the fault was used up


def test_invalid_orders_raise_input_exceptions(kite: KiteConnect) -> None:
    future = {"exchange": "NFO", "tradingsymbol": FUT.symbol, "product": "NRML"}
    cases = [
        ({"tag": "x" * 21}, "tag"),
        ({"market_protection": None}, "market_protection"),
        ({"market_protection": 0}, "market_protection"),
        (future, "lot size 400"),
        ({"order_type": "LIMIT", "price": 1500.03, "market_protection": None}, "tick size"),
        ({"tradingsymbol": "NOSUCH"}, "tradingsymbol"),
    ]
    for fields, message in cases:
        with pytest.raises(kex.InputException, match=message) as refused:
            buy(kite, 10, **fields)
        assert refused.value.code == 400
    assert kite.orders() == []


def test_the_read_endpoints_parse_in_the_real_client(kite: KiteConnect) -> None:
    order_id = buy(kite, 2)
    settled(kite, order_id, "COMPLETE")
    assert {trade["order_id"] for trade in kite.trades()} == {order_id}
    positions = kite.positions()
    (position,) = positions["net"]
    assert (position["tradingsymbol"], position["quantity"], position["product"]) == ("INFY", 2, "MIS")
    assert positions["day"] == positions["net"]
    assert kite.holdings() == []
    margins = kite.margins()
    assert margins["equity"]["net"] < margins["equity"]["available"]["opening_balance"]
    assert kite.margins("equity")["enabled"] is True
    assert kite.margins("commodity")["enabled"] is False

    instruments = kite.instruments()
    assert len(instruments) == len(INSTRUMENTS)
    assert all(isinstance(row["instrument_token"], int) for row in instruments)
    (future,) = kite.instruments("NFO")
    assert (future["instrument_token"], future["expiry"], future["lot_size"]) == (
        FUT.token,
        date(2026, 1, 27),
        400,
    )
    assert (future["tick_size"], future["strike"]) == (0.1, 0.0)

    quotes = kite.quote("NSE:INFY", "NSE:NIFTY 50", "NSE:NOSUCH")
    assert set(quotes) == {"NSE:INFY", "NSE:NIFTY 50"}
    infy = quotes["NSE:INFY"]
    assert infy["instrument_token"] == INFY and isinstance(infy["timestamp"], datetime)
    for side in ("buy", "sell"):
        assert len(infy["depth"][side]) == 5
        assert all(set(level) == {"price", "quantity", "orders"} for level in infy["depth"][side])
    assert infy["depth"]["buy"][0]["price"] < infy["depth"]["sell"][0]["price"]
    prices = kite.ltp("NSE:INFY", str(NIFTY))
    assert prices["NSE:INFY"]["instrument_token"] == INFY and prices["NSE:INFY"]["last_price"] > 0
    assert prices[str(NIFTY)]["instrument_token"] == NIFTY
    assert set(kite.ohlc("NSE:INFY")["NSE:INFY"]["ohlc"]) == {"open", "high", "low", "close"}


def test_gateway_faults_map_to_the_clients_exceptions(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    sandbox.fail_next("GET /user/profile", "429")
    with pytest.raises(kex.NetworkException, match="Too many requests") as limited:
        kite.profile()
    assert limited.value.code == 429
    sandbox.fail_next("/user/profile", "500")
    with pytest.raises(kex.GeneralException) as failed:
        kite.profile()
    assert failed.value.code == 500
    sandbox.fail_next("GET /user/*", "502_html")
    with pytest.raises(kex.DataException, match="Unknown Content-Type"):
        kite.profile()
    assert kite.profile()["user_id"] == "SB0001"  # each fault was used once
    assert sandbox.state()["requests"]["GET /user/profile"] == 4


def test_expired_tokens_raise_token_exception_and_fire_the_hook(
    kite: KiteConnect, sandbox: KiteSandbox
) -> None:
    fired: list[bool] = []
    kite.set_session_expiry_hook(lambda: fired.append(True))
    assert kite.orders() == []
    assert sandbox.expire_tokens() == 1
    with pytest.raises(kex.TokenException) as expired:
        kite.orders()
    assert (expired.value.code, fired) == (403, [True])
    with pytest.raises(kex.TokenException):
        KiteConnect(API_KEY, root=sandbox.url).orders()  # no token at all
    assert login(sandbox).orders() == []  # logging in again works


def test_a_timed_out_placement_still_placed_the_order(sandbox: KiteSandbox) -> None:
    impatient = login(sandbox, timeout=1)
    sandbox.fail_next("POST /orders/*", "timeout")
    with pytest.raises(requests.exceptions.Timeout):
        buy(impatient, 1, tag="ambiguous-1")
    (order,) = wait_for(lambda: [o for o in impatient.orders() if o["tag"] == "ambiguous-1"])
    assert order["status"] in ("COMPLETE", "OPEN")


def test_more_than_ten_placements_a_second_get_429(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    sandbox.freeze_market()
    far_below = round(ltp(kite) - 100, 2)
    placed, refused = 0, []
    for _ in range(11):
        try:
            limit_buy(kite, 1, far_below)
            placed += 1
        except kex.NetworkException as exc:
            refused.append(exc.code)
    assert (placed, refused) == (10, [429])
    assert sandbox.state()["rate_limited"] == 1


def test_the_websocket_refuses_a_bad_access_token(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    refused = requests.get(sandbox.ws_url.replace("ws://", "http://"), params={"api_key": API_KEY}, timeout=5)
    assert refused.status_code == 403


def test_the_real_ticker_gets_ticks_and_order_updates_and_resubscribes_after_a_drop(
    kite: KiteConnect, sandbox: KiteSandbox
) -> None:
    """Every ticker check in one test: the Twisted reactor runs once per process (KITE.md §7)."""
    from twisted.internet import reactor

    seen: list[dict[str, Any]] = []
    connected_at: list[int] = []  # how many ticks had arrived at each (re)connect
    updates: list[dict[str, Any]] = []
    errors: list[tuple[int, object]] = []
    kws = KiteTicker(API_KEY, kite.access_token, root=sandbox.ws_url, reconnect_max_delay=5)

    def on_connect(ws: KiteTicker, response: object) -> None:
        connected_at.append(len(seen))
        if len(connected_at) == 1:  # after a reconnect the client re-subscribes by itself
            ws.subscribe([INFY, NIFTY])
            ws.set_mode(ws.MODE_FULL, [INFY, NIFTY])

    kws.on_connect = on_connect
    kws.on_ticks = lambda ws, batch: seen.extend(batch)
    kws.on_order_update = lambda ws, data: updates.append(data)
    kws.on_error = lambda ws, code, reason: errors.append((code, reason))

    def full_tick(token: int, since: int = 0) -> dict[str, Any] | None:
        return next((t for t in seen[since:] if t["instrument_token"] == token and t["mode"] == "full"), None)

    if reactor.running:  # another test in this process started it; it cannot start twice
        reactor.callFromThread(kws.connect, threaded=True)
    else:
        kws.connect(threaded=True)
    try:
        tick = wait_for(lambda: full_tick(INFY), what="a full INFY tick")
        assert len(tick["depth"]["buy"]) == len(tick["depth"]["sell"]) == 5
        assert all(level["quantity"] > 0 for level in tick["depth"]["buy"] + tick["depth"]["sell"])
        assert tick["depth"]["buy"][0]["price"] < tick["last_price"] < tick["depth"]["sell"][0]["price"]
        index = wait_for(lambda: full_tick(NIFTY), what="a full NIFTY tick")
        assert index["tradable"] is False and isinstance(index["exchange_timestamp"], datetime)

        order_id = buy(kite, 1)
        update = wait_for(
            lambda: next(
                (u for u in updates if u["order_id"] == order_id and u["status"] == "COMPLETE"), None
            ),
            what="the order update",
        )
        assert update["checksum"] == postback_checksum(order_id, update["order_timestamp"], API_SECRET)

        assert sandbox.drop_websockets() == 1
        wait_for(lambda: len(connected_at) == 2, timeout=10, what="the ticker to reconnect")
        wait_for(lambda: full_tick(INFY, since=connected_at[1]), what="full ticks after reconnecting")
        assert sandbox.state()["websockets"] == [[(NIFTY, "full"), (INFY, "full")]]

        reactor.callFromThread(kws.subscribe, list(range(1, 3002)))
        wait_for(
            lambda: any(code == 0 and "3000" in str(reason) for code, reason in errors), what="the limit"
        )
    finally:
        kws.close()


def test_the_control_endpoints_work_over_http(kite: KiteConnect, sandbox: KiteSandbox) -> None:
    def control(action: str, **body: Any) -> Any:
        response = requests.post(f"{sandbox.url}/_sandbox/{action}", json=body, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    control("freeze_market")
    control("set_price", token=INFY, ltp=1600.02)
    assert ltp(kite) == 1600.0  # on the tick grid
    control("fail_next", route="GET /orders", kind="500", count=2)
    for _ in range(2):
        with pytest.raises(kex.GeneralException):
            kite.orders()
    assert kite.orders() == []
    assert control("drop_websockets") == 0
    assert control("expire_tokens") == 1
    state = requests.get(f"{sandbox.url}/_sandbox/state", timeout=5).json()["data"]
    assert (state["frozen"], state["sessions"], state["requests"]["GET /orders"]) == (True, 0, 3)
    control("unfreeze_market")
    assert sandbox.state()["frozen"] is False
    bogus = requests.post(
        f"{sandbox.url}/_sandbox/fail_next", json={"route": "*", "kind": "bogus"}, timeout=5
    )
    assert bogus.status_code == 400
