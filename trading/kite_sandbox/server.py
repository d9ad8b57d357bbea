"""A local, simulated Zerodha: Kite Connect's REST API at `/` and its ticker websocket at `/ws`, one port.

`KiteSandbox` runs it on its own event loop in a background thread, so synchronous code (tests, the
`run_kite_sandbox` command) can start it and point the real `kiteconnect` clients at it. No order
ever leaves the machine. Payloads and errors follow KITE.md; market and matching rules are in
`orders.py`, the tick encoding in `ticks.py`.

Control endpoints, for tests and demos (no auth; POST with a JSON body; each is also a method):
  POST /_sandbox/fail_next        {"route": "POST /orders/*", "kind": "429", "count": 1}
  POST /_sandbox/expire_tokens    {}                      every current access token now gets 403
  POST /_sandbox/set_price        {"token": 408065, "ltp": 1500.5}
  POST /_sandbox/freeze_market    {}                      stop the random walk (set_price still works)
  POST /_sandbox/unfreeze_market  {}
  POST /_sandbox/drop_websockets  {}                      close every ticker connection
  GET|POST /_sandbox/state                                orders, trades, request counts, rate limiting

`fail_next` matches `route` (a glob) against "METHOD /path" and against "/path" of the next requests
and answers `count` of them with `kind`:
  "429"       HTTP 429 NetworkException "Too many requests"
  "500"       HTTP 500 GeneralException
  "502_html"  HTTP 502 with an HTML body (the client raises DataException)
  "timeout"   the request is carried out (an order IS placed), then the answer is held for
              TIMEOUT_DELAY_S, past the client's timeout: the ambiguous case
  "reject"    order placements only: accepted, then REJECTED at validation with REJECT_MESSAGE
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fnmatch
import hmac
import inspect
import io
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from trading.instruments import KITE_CSV_FIELDS, Instrument, load_csv
from trading.kite_sandbox import ticks
from trading.kite_sandbox.checksum import postback_checksum, session_checksum
from trading.kite_sandbox.orders import (
    ORDER_TYPES,
    PRODUCTS,
    Event,
    KiteError,
    Market,
    OrderBook,
    timestamp,
)

log = logging.getLogger(__name__)

SANDBOX_API_KEY = "sandbox"
SANDBOX_API_SECRET = "sandbox-secret"  # sandbox only: it signs nothing outside this process


def client_environment(port: int) -> dict[str, str]:
    """The Kite settings that point this project's client, KiteTicker and login at a sandbox on `port`."""
    root = f"http://127.0.0.1:{port}"
    return {
        "KITE_API_KEY": SANDBOX_API_KEY,
        "KITE_API_SECRET": SANDBOX_API_SECRET,
        "KITE_ROOT": root,
        "KITE_WS_ROOT": f"ws://127.0.0.1:{port}/ws",
        "KITE_LOGIN_URL": f"{root}/connect/login",
    }


DEFAULT_REDIRECT_URL = "http://127.0.0.1:8000/zerodha/callback"
USER_ID = "SB0001"
APP_ID = 1
STEP_DELAY_S = 0.002  # between lifecycle steps: orders settle after the place response, as on Kite
MARKET_INTERVAL_S = 0.1
HEARTBEAT_INTERVAL_S = 1.0
TIMEOUT_DELAY_S = 10.0  # longer than the client's default 7 s timeout
ORDER_RATE_LIMIT = 10  # order placements per api_key in any 1 s window, as Kite
MAX_TOKENS_PER_CONNECTION = 3000
REJECT_MESSAGE = "RMS:Rule: order rejected by the Kite sandbox (fault injection)"
FAULT_KINDS = ("429", "500", "502_html", "timeout", "reject")
_ERROR_FAULTS = {  # kind: (message, error_type, HTTP status)
    "429": ("Too many requests", "NetworkException", 429),
    "500": ("Internal server error (sandbox fault)", "GeneralException", 500),
}
_API_KEY = web.RequestKey("api_key", str)
_REJECT = web.RequestKey("reject", str)
_OPEN_ROUTES = {("POST", "/session/token"), ("DELETE", "/session/token"), ("GET", "/connect/login")}


def _ok(data: object) -> web.Response:
    return web.json_response({"status": "success", "data": data})


def _error(exc: KiteError) -> web.Response:
    body = {"status": "error", "message": exc.message, "error_type": exc.error_type, "data": None}
    return web.json_response(body, status=exc.status)


def _fault_error(kind: str) -> KiteError:
    message, error_type, status = _ERROR_FAULTS[kind]
    return KiteError(message, error_type=error_type, status=status)


def _token_error() -> KiteError:
    return KiteError("Incorrect `api_key` or `access_token`.", error_type="TokenException", status=403)


@dataclass
class _Fault:
    route: str
    kind: str
    remaining: int

    def matches(self, request: web.Request) -> bool:
        if self.kind == "reject" and not _is_placement(request):
            return False
        return fnmatch.fnmatchcase(f"{request.method} {request.path}", self.route) or fnmatch.fnmatchcase(
            request.path, self.route
        )


def _is_placement(request: web.Request) -> bool:
    return request.method == "POST" and request.match_info.get("variety") is not None


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource else request.path}"


def _instruments_csv(instruments: Iterable[Instrument]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KITE_CSV_FIELDS)
    for i in instruments:
        expiry = i.expiry.isoformat() if i.expiry else ""
        row = (i.token, i.token >> 8, i.symbol, i.name, i.last_price, expiry, i.strike, i.tick_size)
        writer.writerow((*row, i.lot_size, i.instrument_type, i.segment, i.exchange))
    return out.getvalue()


def _ohlc(tick: ticks.TickData) -> dict[str, float]:
    return {name: float(getattr(tick, name)) for name in ("open", "high", "low", "close")}


def _full_quote(tick: ticks.TickData, now: datetime) -> dict[str, object]:
    def depth(levels: tuple[ticks.DepthLevel, ...]) -> list[dict[str, object]]:
        return [{"price": float(lv.price), "quantity": lv.quantity, "orders": lv.orders} for lv in levels]

    traded = datetime.fromtimestamp(tick.last_trade_time) if tick.last_trade_time else None
    return {
        "instrument_token": tick.instrument_token,
        "timestamp": timestamp(now),
        "last_trade_time": timestamp(traded) if traded else None,
        "last_price": float(tick.last_price),
        "last_quantity": tick.last_traded_quantity,
        "buy_quantity": tick.total_buy_quantity,
        "sell_quantity": tick.total_sell_quantity,
        "volume": tick.volume_traded,
        "average_price": float(tick.average_traded_price),
        "oi": tick.oi,
        "oi_day_high": tick.oi_day_high,
        "oi_day_low": tick.oi_day_low,
        "net_change": float(tick.last_price - tick.close),
        "lower_circuit_limit": float(tick.close * Decimal("0.8")),
        "upper_circuit_limit": float(tick.close * Decimal("1.2")),
        "ohlc": _ohlc(tick),
        "depth": {"buy": depth(ticks.padded(tick.buy)), "sell": depth(ticks.padded(tick.sell))},
    }


def _ltp_quote(tick: ticks.TickData, now: datetime) -> dict[str, object]:
    return {"instrument_token": tick.instrument_token, "last_price": float(tick.last_price)}


def _ohlc_quote(tick: ticks.TickData, now: datetime) -> dict[str, object]:
    return _ltp_quote(tick, now) | {"ohlc": _ohlc(tick)}


async def _invoke(action: Callable[..., Any], *args: Any) -> Any:
    """Call a control method that may or may not be a coroutine function."""
    result = action(*args)
    return await result if inspect.isawaitable(result) else result


class _Sandbox:
    """All state and the aiohttp handlers. Lives on one event loop: nothing here locks."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        instruments: list[Instrument],
        postback_url: str | None,
        seed: int,
        redirect_url: str,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.postback_url = postback_url
        self.redirect_url = redirect_url
        self.market = Market(instruments, seed=seed)
        self.book = OrderBook(self.market, user_id=USER_ID)
        self.sessions: set[str] = set()
        self.request_tokens: set[str] = set()
        self.faults: list[_Fault] = []
        self.requests: Counter[str] = Counter()
        self.placements: defaultdict[str, deque[float]] = defaultdict(deque)
        self.rate_limited = 0
        self.frozen = False
        self.sockets: dict[web.WebSocketResponse, dict[int, str]] = {}
        self.postbacks: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.postbacks_sent = 0
        self.postbacks_failed = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._driving: set[str] = set()
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        sock = socket.create_server((host, port))
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._spawn(self._every(MARKET_INTERVAL_S, self._walk_market))
        self._spawn(self._every(HEARTBEAT_INTERVAL_S, self._heartbeat))
        if self.postback_url:
            self._spawn(self._deliver_postbacks())
        return sock.getsockname()[1]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.drop_websockets()
        if self._runner:
            await self._runner.cleanup()
        # What is left is a request held by a "timeout" fault or idle keep-alive: the loop is ours alone.
        leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.add_routes(
            [
                web.post("/session/token", self._create_session),
                web.delete("/session/token", self._delete_session),
                web.get("/connect/login", self._login),
                web.get("/user/profile", self._profile),
                web.get("/user/margins", self._margins),
                web.get("/user/margins/{segment}", self._margins),
                web.post("/orders/{variety}", self._place),
                web.put("/orders/{variety}/{order_id}", self._modify),
                web.delete("/orders/{variety}/{order_id}", self._cancel),
                web.get("/orders", self._orders),
                web.get("/orders/{order_id}", self._history),
                web.get("/orders/{order_id}/trades", self._trades),
                web.get("/trades", self._trades),
                web.get("/portfolio/positions", self._positions),
                web.get("/portfolio/holdings", self._holdings),
                web.get("/instruments", self._instruments),
                web.get("/instruments/{exchange}", self._instruments),
                web.get("/quote", self._quote_full),
                web.get("/quote/ltp", self._quote_ltp),
                web.get("/quote/ohlc", self._quote_ohlc),
                web.get("/ws", self._websocket),
                web.get("/_sandbox/state", self._control),
                web.post("/_sandbox/{action}", self._control),
            ]
        )
        return app

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.error("kite sandbox: background task failed", exc_info=task.exception())

    async def _every(self, interval: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` every `interval` s; a failure is logged and the timer keeps going."""
        while True:
            await asyncio.sleep(interval)
            try:
                await action()
            except Exception:
                log.exception("kite sandbox: %s failed", action.__name__)

    # -- the gateway: request counts, faults, auth, errors ----------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        self.requests[_route_name(request)] += 1
        if request.path == "/ws" or request.path.startswith("/_sandbox/"):
            return await handler(request)
        try:
            fault = self._take_fault(request)
            if fault in _ERROR_FAULTS:
                raise _fault_error(fault)
            if fault == "502_html":
                return web.Response(
                    status=502, text="<html><h1>502 Bad Gateway</h1></html>", content_type="text/html"
                )
            if (request.method, request.path) not in _OPEN_ROUTES:
                request[_API_KEY] = self._authenticate(request)
            if fault == "reject":
                request[_REJECT] = REJECT_MESSAGE
            response = await handler(request)
            if fault == "timeout":
                await asyncio.sleep(TIMEOUT_DELAY_S)
            return response
        except KiteError as exc:
            return _error(exc)

    def _take_fault(self, request: web.Request) -> str | None:
        for fault in self.faults:
            if fault.matches(request):
                fault.remaining -= 1
                if not fault.remaining:
                    self.faults.remove(fault)
                return fault.kind
        return None

    def _authenticate(self, request: web.Request) -> str:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        api_key, _, access_token = credentials.partition(":")
        if scheme != "token" or api_key != self.api_key or access_token not in self.sessions:
            raise _token_error()
        return api_key

    def _admit_placement(self, api_key: str) -> None:
        """Kite's order rate limit: a placement over it is refused with 429, and not counted."""
        now, window = time.monotonic(), self.placements[api_key]
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= ORDER_RATE_LIMIT:
            self.rate_limited += 1
            raise _fault_error("429")
        window.append(now)

    # -- session ----------------------------------------------------------------------------------

    async def _login(self, request: web.Request) -> web.Response:
        """Kite's login page, already logged in: straight back to the app with a request token."""
        if request.query.get("api_key") != self.api_key:
            raise KiteError("Invalid `api_key`.")
        request_token = secrets.token_hex(16)
        self.request_tokens.add(request_token)
        raise web.HTTPFound(
            URL(self.redirect_url).update_query(request_token=request_token, action="login", status="success")
        )

    async def _create_session(self, request: web.Request) -> web.Response:
        form = await request.post()
        api_key, request_token = str(form.get("api_key", "")), str(form.get("request_token", ""))
        if api_key != self.api_key:
            raise KiteError("Invalid `api_key`.")
        if request_token not in self.request_tokens:
            raise KiteError("Token is invalid or has expired.", error_type="TokenException", status=403)
        expected = session_checksum(api_key, request_token, self.api_secret)
        if not hmac.compare_digest(str(form.get("checksum", "")), expected):
            raise KiteError("Invalid `checksum`.", error_type="TokenException", status=403)
        self.request_tokens.discard(request_token)
        access_token = secrets.token_hex(16)
        self.sessions.add(access_token)
        return _ok(
            self._user()
            | {
                "api_key": api_key,
                "access_token": access_token,
                "public_token": secrets.token_hex(16),
                "refresh_token": "",
                "enctoken": secrets.token_hex(16),
                "login_time": timestamp(datetime.now()),
            }
        )

    async def _delete_session(self, request: web.Request) -> web.Response:
        if request.query.get("api_key") == self.api_key:
            self.sessions.discard(request.query.get("access_token", ""))
        return _ok(True)

    async def _profile(self, request: web.Request) -> web.Response:
        return _ok(self._user())

    def _user(self) -> dict[str, object]:
        return {
            "user_id": USER_ID,
            "user_name": "Kite Sandbox",
            "user_shortname": "Sandbox",
            "email": "sandbox@example.invalid",
            "user_type": "individual",
            "broker": "ZERODHA",
            "exchanges": sorted({i.exchange for i in self.market.instruments}),
            "products": list(PRODUCTS),
            "order_types": list(ORDER_TYPES),
            "avatar_url": None,
            "meta": {"demat_consent": "physical"},
        }

    # -- orders and portfolio ---------------------------------------------------------------------

    async def _place(self, request: web.Request) -> web.Response:
        self._admit_placement(request[_API_KEY])
        form = await request.post()
        order = self.book.place(
            form, variety=request.match_info["variety"], now=datetime.now(), reject=request.get(_REJECT)
        )
        self._spawn(self._drive(order.order_id))
        return _ok({"order_id": order.order_id})

    async def _modify(self, request: web.Request) -> web.Response:
        order = self.book.modify(request.match_info["order_id"], await request.post(), now=datetime.now())
        self._spawn(self._drive(order.order_id))
        return _ok({"order_id": order.order_id})

    async def _cancel(self, request: web.Request) -> web.Response:
        order = self.book.cancel(request.match_info["order_id"], now=datetime.now())
        self._spawn(self._drive(order.order_id))
        return _ok({"order_id": order.order_id})

    async def _orders(self, request: web.Request) -> web.Response:
        return _ok(self.book.orders())

    async def _history(self, request: web.Request) -> web.Response:
        return _ok(self.book.history(request.match_info["order_id"]))

    async def _trades(self, request: web.Request) -> web.Response:
        return _ok(self.book.trades(request.match_info.get("order_id")))

    async def _positions(self, request: web.Request) -> web.Response:
        return _ok(self.book.positions())

    async def _holdings(self, request: web.Request) -> web.Response:
        """A sandbox account starts every day empty: today's buys are positions, not holdings."""
        return _ok([])

    async def _margins(self, request: web.Request) -> web.Response:
        margins, segment = self.book.margins(), request.match_info.get("segment")
        if segment is None:
            return _ok(margins)
        if segment not in margins:
            raise KiteError(f"Invalid segment {segment!r} (equity or commodity).")
        return _ok(margins[segment])

    async def _drive(self, order_id: str) -> None:
        """Walk an order through its lifecycle a few ms a step, announcing each update."""
        if order_id in self._driving:  # already being walked: that task takes the new steps too
            return
        self._driving.add(order_id)
        try:
            while self.book.in_progress(order_id):
                await asyncio.sleep(STEP_DELAY_S)
                await self._announce(self.book.advance(order_id, now=datetime.now()))
        finally:
            self._driving.discard(order_id)

    async def _announce(self, events: list[Event]) -> None:
        """Each update goes to the postback URL and to every ticker connection; fills move the market."""
        for event in events:
            update = self._order_update(event)
            if self.postback_url:
                self.postbacks.put_nowait(update)
            message = json.dumps({"type": "order", "data": update})
            for ws in list(self.sockets):
                await self._send(ws, message)
        traded = [event.trade["instrument_token"] for event in events if event.trade]
        if traded:
            await self._push_ticks(traded)

    def _order_update(self, event: Event) -> dict[str, object]:
        order = event.order
        checksum = postback_checksum(str(order["order_id"]), str(order["order_timestamp"]), self.api_secret)
        return order | {
            "user_id": USER_ID,
            "app_id": APP_ID,
            "unfilled_quantity": order["quantity"] - order["filled_quantity"],
            "checksum": checksum,
        }

    async def _deliver_postbacks(self) -> None:
        """One at a time, in order; a failed postback is logged and counted, never retried."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while True:
                update = await self.postbacks.get()
                try:
                    async with http.post(self.postback_url, json=update) as response:
                        response.raise_for_status()
                    self.postbacks_sent += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.postbacks_failed += 1
                    log.warning("kite sandbox: postback for order %s failed: %s", update["order_id"], exc)

    # -- market data ------------------------------------------------------------------------------

    async def _instruments(self, request: web.Request) -> web.Response:
        exchange = request.match_info.get("exchange")
        rows = [i for i in self.market.instruments if exchange in (None, i.exchange)]
        return web.Response(text=_instruments_csv(rows), content_type="text/csv")

    async def _quote_full(self, request: web.Request) -> web.Response:
        return _ok(self._quotes(request, _full_quote))

    async def _quote_ltp(self, request: web.Request) -> web.Response:
        return _ok(self._quotes(request, _ltp_quote))

    async def _quote_ohlc(self, request: web.Request) -> web.Response:
        return _ok(self._quotes(request, _ohlc_quote))

    def _quotes(
        self, request: web.Request, shape: Callable[[ticks.TickData, datetime], dict[str, object]]
    ) -> dict[str, object]:
        """Keyed as asked ("EXCH:SYM" or a token); unknown instruments are left out, as Kite does."""
        now = datetime.now()
        found = {key: self.market.lookup(key) for key in request.query.getall("i", [])}
        return {
            key: shape(self.market.tick(instrument.token, int(now.timestamp())), now)
            for key, instrument in found.items()
            if instrument
        }

    async def _walk_market(self) -> None:
        if not self.frozen:
            await self._market_moved(self.market.walk(int(time.time())))

    async def _market_moved(self, tokens: list[int]) -> None:
        await self._announce(self.book.on_market(tokens, now=datetime.now()))
        await self._push_ticks(tokens)

    # -- the ticker websocket ---------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        if (
            request.query.get("api_key") != self.api_key
            or request.query.get("access_token") not in self.sessions
        ):
            raise web.HTTPForbidden(text="Incorrect api_key or access_token")
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        self.sockets[ws] = {}
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._on_ws_message(ws, message.data)
        finally:
            self.sockets.pop(ws, None)
        return ws

    async def _on_ws_message(self, ws: web.WebSocketResponse, data: str | bytes) -> None:
        """subscribe / unsubscribe / mode, as the client sends them; a new subscription gets a snapshot."""
        subscriptions = self.sockets[ws]
        try:
            request = json.loads(data)
            action, value = request["a"], request["v"]
            if action == "mode":
                mode, tokens = value[0], [int(t) for t in value[1]]
            else:
                mode, tokens = ticks.MODE_QUOTE, [int(t) for t in value]
        except (ValueError, KeyError, TypeError, IndexError):
            await self._send(ws, json.dumps({"type": "error", "data": f"Invalid message: {data!r:.200}"}))
            return
        if action == "subscribe":
            fresh = [t for t in dict.fromkeys(tokens) if t not in subscriptions]
            if len(subscriptions) + len(fresh) > MAX_TOKENS_PER_CONNECTION:
                error = f"Too many instruments: at most {MAX_TOKENS_PER_CONNECTION} per connection"
                await self._send(ws, json.dumps({"type": "error", "data": error}))
                return
            subscriptions.update(dict.fromkeys(fresh, ticks.MODE_QUOTE))
        elif action == "unsubscribe":
            for token in tokens:
                subscriptions.pop(token, None)
            return
        elif action == "mode" and mode in ticks.MODES:
            subscriptions.update({t: mode for t in tokens if t in subscriptions})
        else:
            await self._send(
                ws, json.dumps({"type": "error", "data": f"Invalid action or mode: {data!r:.200}"})
            )
            return
        await self._push_ticks(tokens, {ws: subscriptions})

    async def _push_ticks(
        self, tokens: Iterable[int], sockets: dict[web.WebSocketResponse, dict[int, str]] | None = None
    ) -> None:
        """One binary frame per connection: each subscribed token among `tokens` in its mode."""
        epoch, cache = int(time.time()), {}
        wanted = [t for t in dict.fromkeys(tokens) if t in self.market]
        for ws, subscriptions in list((sockets or self.sockets).items()):
            packets = []
            for token in wanted:
                if token in subscriptions:
                    if token not in cache:
                        cache[token] = self.market.tick(token, epoch)
                    packets.append(ticks.packet(cache[token], subscriptions[token]))
            if packets:
                await self._send(ws, ticks.frame(packets))

    async def _heartbeat(self) -> None:
        for ws in list(self.sockets):
            await self._send(ws, ticks.HEARTBEAT)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, payload: str | bytes) -> None:
        """A connection closing under us is not an error: the client reconnects or is gone."""
        if ws.closed:
            return
        with contextlib.suppress(ConnectionError):
            if isinstance(payload, bytes):
                await ws.send_bytes(payload)
            else:
                await ws.send_str(payload)

    # -- control ----------------------------------------------------------------------------------

    def fail_next(self, route: str, kind: str, count: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(FAULT_KINDS)})")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self.faults.append(_Fault(route, kind, count))

    def expire_tokens(self) -> int:
        expired = len(self.sessions)
        self.sessions.clear()
        return expired

    async def set_price(self, token: int, ltp: Decimal | float | str) -> None:
        self.market.set_price(token, ltp, int(time.time()))
        await self._market_moved([token])

    def freeze_market(self) -> None:
        self.frozen = True

    def unfreeze_market(self) -> None:
        self.frozen = False

    async def drop_websockets(self) -> int:
        sockets = list(self.sockets)
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by the sandbox") for ws in sockets),
            return_exceptions=True,
        )
        return len(sockets)

    def state(self) -> dict[str, object]:
        return {
            "orders": self.book.orders(),
            "trades": self.book.trades(),
            "requests": dict(self.requests),
            "rate_limited": self.rate_limited,
            "postbacks": {
                "queued": self.postbacks.qsize(),
                "sent": self.postbacks_sent,
                "failed": self.postbacks_failed,
            },
            "websockets": [sorted(subscriptions.items()) for subscriptions in self.sockets.values()],
            "sessions": len(self.sessions),
            "frozen": self.frozen,
            "faults": [asdict(fault) for fault in self.faults],
        }

    async def _control(self, request: web.Request) -> web.Response:
        actions: dict[str, Callable[[dict[str, Any]], Any]] = {
            "fail_next": lambda b: self.fail_next(b["route"], b["kind"], int(b.get("count", 1))),
            "expire_tokens": lambda b: self.expire_tokens(),
            "set_price": lambda b: self.set_price(int(b["token"]), str(b["ltp"])),
            "freeze_market": lambda b: self.freeze_market(),
            "unfreeze_market": lambda b: self.unfreeze_market(),
            "drop_websockets": lambda b: self.drop_websockets(),
            "state": lambda b: self.state(),
        }
        action = actions.get(request.match_info.get("action", "state"))
        if action is None:
            raise web.HTTPNotFound(text=f"unknown control action; known: {', '.join(actions)}")
        try:
            body = await request.json() if request.can_read_body else {}
            result = await _invoke(action, body)
        except (ValueError, KeyError, TypeError, KiteError) as exc:
            return web.json_response({"status": "error", "message": str(exc)}, status=400)
        return _ok(True if result is None else result)


class KiteSandbox:
    """The sandbox on its own event loop in a daemon thread: `start()` it, point the real clients at
    `url` and `ws_url`, `stop()` it. The control methods are safe to call from any thread."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        instruments: Iterable[Instrument] | None = None,
        postback_url: str | None = None,
        seed: int = 0,
        redirect_url: str = DEFAULT_REDIRECT_URL,
    ) -> None:
        self._host = host
        self._port = port
        self._core = _Sandbox(
            api_key=api_key,
            api_secret=api_secret,
            instruments=list(instruments) if instruments is not None else load_csv(),
            postback_url=postback_url,
            seed=seed,
            redirect_url=redirect_url,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host}:{self._port}/ws"

    def start(self) -> int:
        """Serve in the background; returns the bound port (useful with port=0)."""
        if self._loop is not None:
            raise RuntimeError("the Kite sandbox is already running")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kite-sandbox", daemon=True)
        self._thread.start()
        try:
            self._port = self._run(self._core.start, self._host, self._port)
        except BaseException:
            self._shut_loop()
            raise
        return self._port

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._run(self._core.stop)
        finally:
            self._shut_loop()

    def fail_next(self, route_glob: str, kind: str, count: int = 1) -> None:
        self._run(self._core.fail_next, route_glob, kind, count)

    def expire_tokens(self) -> int:
        """Every current access token gets 403 TokenException from now on, as at 06:00 IST."""
        return self._run(self._core.expire_tokens)

    def set_price(self, token: int, ltp: Decimal | float | str) -> None:
        self._run(self._core.set_price, token, ltp)

    def freeze_market(self) -> None:
        self._run(self._core.freeze_market)

    def unfreeze_market(self) -> None:
        self._run(self._core.unfreeze_market)

    def drop_websockets(self) -> int:
        return self._run(self._core.drop_websockets)

    def state(self) -> dict[str, Any]:
        return self._run(self._core.state)

    def _run(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run `action` on the sandbox's loop and wait for it: all state lives on that thread."""
        if self._loop is None:
            raise RuntimeError("start() the Kite sandbox first")
        return asyncio.run_coroutine_threadsafe(_invoke(action, *args), self._loop).result(timeout=10)

    def _shut_loop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None
