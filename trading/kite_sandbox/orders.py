"""The sandbox's exchange: a seeded market per instrument and Kite's order lifecycle, with no I/O.

The server owns the clock and the timers and calls in with `now`; unit tests drive the same methods
step by step. Everything runs on one thread (the server's event loop), so nothing here locks.

Matching, kept simple and stated:
- Each instrument has a last price and five bid and five ask levels one tick apart, starting a tick
  either side of the last price, rebuilt on every market move (the random walk or `set_price`).
- An order reaching OPEN takes liquidity within its limit (LIMIT and SL: its price; MARKET and SL-M:
  the market-protection price), one trade per level, so an order larger than the best level fills
  in several partial trades. What is left rests.
- On each later market move a resting order takes from the new book, and a LIMIT or SL order whose
  price the last price has reached fills what is left at its own price.
- SL and SL-M orders wait in TRIGGER PENDING until the last price reaches the trigger (a buy at or
  above it, a sell at or below), then work as LIMIT and MARKET orders.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from trading.instruments import Instrument
from trading.kite_sandbox import ticks
from trading.matching import check_order, round_to_tick

BUY, SELL = "BUY", "SELL"
MARKET, LIMIT, SL, SL_M = "MARKET", "LIMIT", "SL", "SL-M"
ORDER_TYPES = (MARKET, LIMIT, SL, SL_M)
PRICED = (LIMIT, SL)
STOPS = (SL, SL_M)
PROTECTED = (MARKET, SL_M)
PRODUCTS = ("CNC", "NRML", "MIS", "MTF")
VALIDITIES = ("DAY", "IOC")
VARIETY = "regular"
MAX_TAG_LENGTH = 20
MAX_MODIFICATIONS = 25
AUTO_PROTECTION_PCT = Decimal(3)  # market_protection=-1 lets the broker choose; the sandbox takes 3 %
DEFAULT_PRICE = Decimal(100)  # where an instrument listed without a last price starts
STARTING_CASH = Decimal(1_000_000)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # 19 characters: the client turns exactly these into datetimes

PUT_ORDER_REQ_RECEIVED = "PUT ORDER REQ RECEIVED"
VALIDATION_PENDING = "VALIDATION PENDING"
OPEN_PENDING = "OPEN PENDING"
OPEN = "OPEN"
TRIGGER_PENDING = "TRIGGER PENDING"
MODIFY_VALIDATION_PENDING = "MODIFY VALIDATION PENDING"
MODIFY_PENDING = "MODIFY PENDING"
MODIFIED = "MODIFIED"
CANCEL_PENDING = "CANCEL PENDING"
COMPLETE = "COMPLETE"
CANCELLED = "CANCELLED"
REJECTED = "REJECTED"
UPDATE = "UPDATE"  # not an order status: what a postback says for a partial fill or a modification
TERMINAL = frozenset({COMPLETE, CANCELLED, REJECTED})
WORKING = frozenset({OPEN, TRIGGER_PENDING})


class KiteError(Exception):
    """A request Kite refuses with an error body; `error_type` names the client's exception class."""

    def __init__(self, message: str, *, error_type: str = "InputException", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status


def timestamp(now: datetime) -> str:
    return now.strftime(TIMESTAMP_FORMAT)


def _num(value: Decimal) -> float:
    """JSON numbers, as Kite sends them (never -0.0)."""
    return float(value) + 0.0


def _on_grid(price: Decimal, tick_size: Decimal) -> Decimal:
    return max(tick_size, (price / tick_size).to_integral_value() * tick_size)


# --- the market ---------------------------------------------------------------------------------


@dataclass
class _Level:
    price: Decimal
    quantity: int
    orders: int


@dataclass
class _Book:
    instrument: Instrument
    ltp: Decimal
    close: Decimal
    open: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    bids: list[_Level] = field(default_factory=list)
    asks: list[_Level] = field(default_factory=list)
    volume: int = 0
    last_quantity: int = 0
    turnover: Decimal = Decimal(0)
    last_trade_time: int = 0

    def __post_init__(self) -> None:
        self.open = self.high = self.low = self.ltp

    @property
    def is_index(self) -> bool:
        return ticks.is_index(self.instrument.token)


class Market:
    """Last price and a five-level book per instrument, moved by a seeded random walk or by hand.

    One `random.Random(seed)` draws everything in a fixed instrument order, so a seed and the same
    sequence of calls give the same prices and books.
    """

    def __init__(self, instruments: Iterable[Instrument], *, seed: int, volatility_bps: float = 8.0) -> None:
        self._rng = random.Random(seed)
        self._sigma = volatility_bps / 10_000
        self._books: dict[int, _Book] = {}
        self._by_key: dict[str, int] = {}
        for instrument in instruments:
            start = instrument.last_price if instrument.last_price > 0 else DEFAULT_PRICE
            start = _on_grid(start, instrument.tick_size)
            self._books[instrument.token] = _Book(instrument, ltp=start, close=start)
            self._by_key[f"{instrument.exchange}:{instrument.symbol}"] = instrument.token
        if not self._books:
            raise ValueError("the sandbox market needs at least one instrument")
        for book in self._books.values():
            self._rebuild(book)

    @property
    def instruments(self) -> list[Instrument]:
        return [book.instrument for book in self._books.values()]

    def __contains__(self, token: object) -> bool:
        return token in self._books

    def lookup(self, key: str) -> Instrument | None:
        """By "EXCHANGE:SYMBOL" or by instrument token, as the quote APIs accept either."""
        token = int(key) if key.isdigit() else self._by_key.get(key)
        book = self._books.get(token) if token is not None else None
        return book.instrument if book else None

    def ltp(self, token: int) -> Decimal:
        return self._book(token).ltp

    def close(self, token: int) -> Decimal:
        return self._book(token).close

    def set_price(self, token: int, ltp: Decimal | float | str, now: int) -> None:
        """Move the last price (rounded to the tick grid) and rebuild the book around it."""
        book = self._book(token)
        self._move(book, _on_grid(Decimal(str(ltp)), book.instrument.tick_size))
        book.last_trade_time = now
        self._rebuild(book)

    def walk(self, now: int) -> list[int]:
        """One random-walk step for every instrument; returns the tokens that moved (all of them)."""
        for book in self._books.values():
            tick_size = book.instrument.tick_size
            steps = round(self._rng.gauss(0.0, self._sigma) * float(book.ltp / tick_size))
            price = max(tick_size, book.ltp + steps * tick_size)
            if book.is_index:
                self._move(book, price)
            else:
                self.trade(book.instrument.token, self._rng.randint(1, 50) * self._lot(book), price, now)
            self._rebuild(book)
        return list(self._books)

    def take(
        self, token: int, side: str, quantity: int, limit: Decimal | None, now: int
    ) -> list[tuple[int, Decimal]]:
        """Take up to `quantity` from the opposite side within `limit`: one (quantity, price) per level."""
        book = self._book(token)
        levels = book.asks if side == BUY else book.bids
        fills: list[tuple[int, Decimal]] = []
        while quantity and levels and (limit is None or _at_or_better(side, levels[0].price, limit)):
            level = levels[0]
            taken = min(quantity, level.quantity)
            fills.append((taken, level.price))
            self.trade(token, taken, level.price, now)
            quantity -= taken
            level.quantity -= taken
            if not level.quantity:
                levels.pop(0)
        return fills

    def trade(self, token: int, quantity: int, price: Decimal, now: int) -> None:
        """Record a trade: it sets the last price, the day's range and the volume."""
        book = self._book(token)
        self._move(book, price)
        book.volume += quantity
        book.last_quantity = quantity
        book.turnover += quantity * price
        book.last_trade_time = now

    def tick(self, token: int, now: int) -> ticks.TickData:
        book = self._book(token)
        return ticks.TickData(
            instrument_token=token,
            last_price=book.ltp,
            open=book.open,
            high=book.high,
            low=book.low,
            close=book.close,
            last_traded_quantity=book.last_quantity,
            average_traded_price=book.turnover / book.volume if book.volume else book.ltp,
            volume_traded=book.volume,
            total_buy_quantity=sum(level.quantity for level in book.bids),
            total_sell_quantity=sum(level.quantity for level in book.asks),
            last_trade_time=book.last_trade_time,
            exchange_timestamp=now,
            buy=tuple(ticks.DepthLevel(lv.price, lv.quantity, lv.orders) for lv in book.bids),
            sell=tuple(ticks.DepthLevel(lv.price, lv.quantity, lv.orders) for lv in book.asks),
        )

    def _book(self, token: int) -> _Book:
        try:
            return self._books[token]
        except KeyError:
            raise KiteError(f"Unknown instrument token {token}.") from None

    @staticmethod
    def _lot(book: _Book) -> int:
        return max(book.instrument.lot_size, 1)

    @staticmethod
    def _move(book: _Book, price: Decimal) -> None:
        book.ltp = price
        book.high = max(book.high, price)
        book.low = min(book.low, price)

    def _rebuild(self, book: _Book) -> None:
        if book.is_index:  # an index has a value but no book
            return
        tick_size = book.instrument.tick_size
        book.bids = self._levels(book.ltp - tick_size, -tick_size, self._lot(book))
        book.asks = self._levels(book.ltp + tick_size, tick_size, self._lot(book))

    def _levels(self, best: Decimal, step: Decimal, lot: int) -> list[_Level]:
        levels = []
        for depth in range(ticks.DEPTH_LEVELS):
            price = best + depth * step
            if price <= 0:
                break
            orders = self._rng.randint(1, 10)
            levels.append(_Level(price, orders * self._rng.randint(1, 20) * lot, orders))
        return levels


def _at_or_better(side: str, price: Decimal, limit: Decimal) -> bool:
    """Whether a buyer (seller) with this limit accepts `price`; also: a limit the market has reached."""
    return price <= limit if side == BUY else price >= limit


def _trigger_reached(side: str, ltp: Decimal, trigger: Decimal) -> bool:
    return ltp >= trigger if side == BUY else ltp <= trigger


# --- orders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a modification may change; validated together because they constrain each other."""

    order_type: str
    quantity: int
    price: Decimal = Decimal(0)
    trigger_price: Decimal = Decimal(0)
    validity: str = "DAY"
    disclosed_quantity: int = 0
    market_protection: Decimal = Decimal(0)


_BLANK_TERMS = Terms(order_type="", quantity=0)


@dataclass(kw_only=True)
class Order:
    order_id: str
    instrument: Instrument
    transaction_type: str
    product: str
    terms: Terms
    tag: str | None
    algo_id: str | None
    placed_by: str
    guid: str
    order_timestamp: str
    reject_reason: str | None = None  # set by fault injection: the order is rejected at validation
    status: str = PUT_ORDER_REQ_RECEIVED
    status_message: str | None = None
    exchange_order_id: str | None = None
    exchange_timestamp: str | None = None
    exchange_update_timestamp: str | None = None
    filled_quantity: int = 0
    cancelled_quantity: int = 0
    traded_value: Decimal = Decimal(0)
    triggered: bool = False
    protection_price: Decimal | None = None
    change: Terms | None = None
    modifications: int = 0

    @property
    def pending_quantity(self) -> int:
        return 0 if self.status in TERMINAL else self.terms.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal:
        return self.traded_value / self.filled_quantity if self.filled_quantity else Decimal(0)

    def snapshot(self, status: str | None = None) -> dict[str, object]:
        """The order as Kite's APIs show it; `status` overrides for an UPDATE postback."""
        terms = self.terms
        return {
            "placed_by": self.placed_by,
            "order_id": self.order_id,
            "exchange_order_id": self.exchange_order_id,
            "parent_order_id": None,
            "status": status or self.status,
            "status_message": self.status_message,
            "status_message_raw": self.status_message,
            "order_timestamp": self.order_timestamp,
            "exchange_update_timestamp": self.exchange_update_timestamp,
            "exchange_timestamp": self.exchange_timestamp,
            "variety": VARIETY,
            "modified": self.modifications > 0,
            "exchange": self.instrument.exchange,
            "tradingsymbol": self.instrument.symbol,
            "instrument_token": self.instrument.token,
            "order_type": terms.order_type,
            "transaction_type": self.transaction_type,
            "validity": terms.validity,
            "validity_ttl": 0,
            "product": self.product,
            "quantity": terms.quantity,
            "disclosed_quantity": terms.disclosed_quantity,
            "price": _num(terms.price),
            "trigger_price": _num(terms.trigger_price),
            "average_price": _num(self.average_price),
            "filled_quantity": self.filled_quantity,
            "pending_quantity": self.pending_quantity,
            "cancelled_quantity": self.cancelled_quantity,
            "market_protection": _num(terms.market_protection),
            "meta": {},
            "tag": self.tag,
            "tags": [self.tag] if self.tag else [],
            "guid": self.guid,
            "algo_id": self.algo_id,
        }


@dataclass(frozen=True)
class Fill:
    trade_id: str
    order: Order
    quantity: int
    price: Decimal
    at: str

    def as_dict(self) -> dict[str, object]:
        order = self.order
        return {
            "trade_id": self.trade_id,
            "order_id": order.order_id,
            "exchange_order_id": order.exchange_order_id,
            "exchange": order.instrument.exchange,
            "tradingsymbol": order.instrument.symbol,
            "instrument_token": order.instrument.token,
            "product": order.product,
            "transaction_type": order.transaction_type,
            "quantity": self.quantity,
            "average_price": _num(self.price),
            "fill_timestamp": self.at,
            "exchange_timestamp": self.at,
            "order_timestamp": order.order_timestamp,
        }


@dataclass(frozen=True)
class Event:
    """An order update to announce: a postback and a websocket message (`status` as they show it)."""

    status: str
    order: dict[str, object]
    trade: dict[str, object] | None = None


def _field(form: Mapping[str, str], name: str, parse: Callable[[str], object], default: object) -> object:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except (ValueError, InvalidOperation):
        raise KiteError(f"Invalid `{name}`: {raw!r}.") from None


def _decimal(raw: str) -> Decimal:
    value = Decimal(raw)
    if not value.is_finite():
        raise ValueError(raw)
    return value


def _terms(form: Mapping[str, str], base: Terms) -> Terms:
    return Terms(
        order_type=_field(form, "order_type", str, base.order_type),
        quantity=_field(form, "quantity", int, base.quantity),
        price=_field(form, "price", _decimal, base.price),
        trigger_price=_field(form, "trigger_price", _decimal, base.trigger_price),
        validity=_field(form, "validity", str, base.validity),
        disclosed_quantity=_field(form, "disclosed_quantity", int, base.disclosed_quantity),
        market_protection=_field(form, "market_protection", _decimal, base.market_protection),
    )


def _check_terms(terms: Terms, side: str, instrument: Instrument) -> None:
    """Kite's input checks: a failure is an InputException and no order exists."""
    if terms.order_type not in ORDER_TYPES:
        raise KiteError(f"Invalid `order_type` {terms.order_type!r} (one of {', '.join(ORDER_TYPES)}).")
    if terms.validity not in VALIDITIES:
        raise KiteError(f"Invalid `validity` {terms.validity!r} (the sandbox takes {', '.join(VALIDITIES)}).")
    if terms.order_type in PRICED and terms.price <= 0:
        raise KiteError(f"`price` is required for {terms.order_type} orders.")
    if terms.order_type in STOPS and terms.trigger_price <= 0:
        raise KiteError(f"`trigger_price` is required for {terms.order_type} orders.")
    protection = terms.market_protection
    if terms.order_type in PROTECTED and not (protection == -1 or 0 < protection <= 100):
        raise KiteError(
            f"`market_protection` is required for {terms.order_type} orders: -1 (automatic) "
            f"or a percentage above 0 up to 100, got {protection}."
        )
    if terms.order_type == SL and not _at_or_better(side, terms.trigger_price, terms.price):
        raise KiteError(f"Trigger price for a stoploss {side.lower()} order must not cross its limit price.")
    if not 0 <= terms.disclosed_quantity <= terms.quantity:
        raise KiteError("`disclosed_quantity` must be between 0 and the quantity.")
    problem = check_order(
        quantity=terms.quantity,
        lot_size=max(instrument.lot_size, 1),
        price=terms.price if terms.order_type in PRICED else None,
        trigger_price=terms.trigger_price if terms.order_type in STOPS else None,
        tick_size=instrument.tick_size,
    )
    if problem:
        raise KiteError(f"{instrument.symbol}: {problem}.")


class OrderBook:
    """Orders, their history and fills, against a `Market`; each `advance` is one lifecycle step."""

    def __init__(self, market: Market, *, user_id: str, cash: Decimal = STARTING_CASH) -> None:
        self._market = market
        self._user_id = user_id
        self._cash = cash
        self._orders: dict[str, Order] = {}
        self._working: dict[str, Order] = {}
        self._history: dict[str, list[dict[str, object]]] = {}
        self._fills: list[Fill] = []
        self._order_seq = 0
        self._exchange_seq = 0

    # -- commands ---------------------------------------------------------------------------------

    def place(
        self, form: Mapping[str, str], *, variety: str, now: datetime, reject: str | None = None
    ) -> Order:
        """Validate and accept an order in PUT ORDER REQ RECEIVED; `reject` makes validation fail."""
        if variety != VARIETY:
            raise KiteError(f"Invalid `variety` {variety!r}: the sandbox takes regular orders only.")
        exchange, symbol = form.get("exchange", ""), form.get("tradingsymbol", "")
        instrument = self._market.lookup(f"{exchange}:{symbol}")
        if instrument is None:
            raise KiteError(f"Invalid `tradingsymbol`: {exchange}:{symbol} is not a listed instrument.")
        if ticks.is_index(instrument.token):
            raise KiteError(f"{exchange}:{symbol} is an index: it cannot be traded.")
        side, product = form.get("transaction_type", ""), form.get("product", "")
        if side not in (BUY, SELL):
            raise KiteError(f"Invalid `transaction_type` {side!r} (BUY or SELL).")
        if product not in PRODUCTS:
            raise KiteError(f"Invalid `product` {product!r} (one of {', '.join(PRODUCTS)}).")
        tag = form.get("tag") or None
        if tag and len(tag) > MAX_TAG_LENGTH:
            raise KiteError(f"`tag` is longer than {MAX_TAG_LENGTH} characters: {tag!r}.")
        terms = _terms(form, _BLANK_TERMS)
        _check_terms(terms, side, instrument)
        self._order_seq += 1
        order = Order(
            order_id=f"{now:%y%m%d}{self._order_seq:09d}",
            instrument=instrument,
            transaction_type=side,
            product=product,
            terms=terms,
            tag=tag,
            algo_id=form.get("algo_id") or None,
            placed_by=self._user_id,
            guid=f"sandbox-{self._order_seq}",
            order_timestamp=timestamp(now),
            reject_reason=reject,
        )
        self._orders[order.order_id] = order
        self._history[order.order_id] = [order.snapshot()]
        return order

    def modify(self, order_id: str, form: Mapping[str, str], *, now: datetime) -> Order:
        order = self._get(order_id)
        self._require_working(order, "modified")
        if order.modifications >= MAX_MODIFICATIONS:
            raise KiteError("Maximum allowed order modifications exceeded.")
        terms = _terms(form, order.terms)
        _check_terms(terms, order.transaction_type, order.instrument)
        if terms.quantity <= order.filled_quantity:
            raise KiteError(f"`quantity` must exceed the {order.filled_quantity} already filled.")
        order.change = terms
        self._set(order, MODIFY_VALIDATION_PENDING, now)
        return order

    def cancel(self, order_id: str, *, now: datetime) -> Order:
        order = self._get(order_id)
        self._require_working(order, "cancelled")
        self._set(order, CANCEL_PENDING, now)
        return order

    def in_progress(self, order_id: str) -> bool:
        """Whether `advance` has a step to take (the order is between two settled states)."""
        return self._get(order_id).status in self._STEPS

    def advance(self, order_id: str, *, now: datetime) -> list[Event]:
        order = self._get(order_id)
        step = self._STEPS.get(order.status)
        return step(self, order, now) if step else []

    def on_market(self, tokens: Iterable[int], *, now: datetime) -> list[Event]:
        """After the market moved for `tokens`: trigger stops, fill resting orders the market reached."""
        moved = set(tokens)
        events: list[Event] = []
        for order in list(self._working.values()):
            if order.instrument.token not in moved:
                continue
            if order.status == OPEN:
                events += self._match(order, now, resting=True)
            elif self._trigger_reached(order):
                events += self._work(order, now)
        return events

    # -- views ------------------------------------------------------------------------------------

    def orders(self) -> list[dict[str, object]]:
        return [order.snapshot() for order in self._orders.values()]

    def history(self, order_id: str) -> list[dict[str, object]]:
        self._get(order_id)
        return list(self._history[order_id])

    def trades(self, order_id: str | None = None) -> list[dict[str, object]]:
        if order_id is not None:
            self._get(order_id)
        return [f.as_dict() for f in self._fills if order_id in (None, f.order.order_id)]

    def positions(self) -> dict[str, list[dict[str, object]]]:
        """Net and day positions from today's fills (nothing is carried overnight, so they are equal)."""
        groups: dict[tuple[int, str], list[Fill]] = {}
        for fill in self._fills:
            groups.setdefault((fill.order.instrument.token, fill.order.product), []).append(fill)
        net = [self._position(fills) for fills in groups.values()]
        return {"net": net, "day": [dict(row) for row in net]}

    def margins(self) -> dict[str, dict[str, object]]:
        bought, sold = self._traded(BUY), self._traded(SELL)
        rows = self.positions()["net"]
        equity = _segment_margins(
            enabled=True,
            cash=self._cash,
            live=self._live_balance(),
            debits=max(Decimal(0), bought - sold),
            turnover=bought + sold,
            realised=sum(row["realised"] for row in rows),
            unrealised=sum(row["unrealised"] for row in rows),
        )
        return {"equity": equity, "commodity": _segment_margins(enabled=False)}

    # -- lifecycle steps --------------------------------------------------------------------------

    def _receive(self, order: Order, now: datetime) -> list[Event]:
        return self._set(order, VALIDATION_PENDING, now)

    def _validate(self, order: Order, now: datetime) -> list[Event]:
        reason = order.reject_reason or self._margin_shortfall(order)
        if reason:
            order.status_message = reason
            return self._finish(order, REJECTED, now)
        self._exchange_seq += 1
        order.exchange_order_id = str(1_100_000_000_000_000 + self._exchange_seq)
        return self._set(order, OPEN_PENDING, now)

    def _reach_exchange(self, order: Order, now: datetime) -> list[Event]:
        order.exchange_timestamp = timestamp(now)
        return self._work(order, now)

    def _validate_modification(self, order: Order, now: datetime) -> list[Event]:
        return self._set(order, MODIFY_PENDING, now)

    def _apply_modification(self, order: Order, now: datetime) -> list[Event]:
        change = order.change
        assert change is not None  # MODIFY PENDING is only reached through modify()
        if change.order_type != order.terms.order_type:
            order.triggered = False
        order.terms, order.change = change, None
        order.protection_price = None  # re-derived from the market when it works again
        order.modifications += 1
        self._set(order, MODIFIED, now)
        return [Event(UPDATE, order.snapshot(UPDATE))]

    def _cancel(self, order: Order, now: datetime) -> list[Event]:
        order.cancelled_quantity = order.terms.quantity - order.filled_quantity
        return self._finish(order, CANCELLED, now)

    # -- matching ---------------------------------------------------------------------------------

    def _work(self, order: Order, now: datetime) -> list[Event]:
        """At the exchange: wait for the trigger, or open, take what the book offers, and rest."""
        terms = order.terms
        if terms.order_type in STOPS and not order.triggered:
            if not self._trigger_reached(order):
                return self._set(order, TRIGGER_PENDING, now)
            order.triggered = True
        self._set(order, OPEN, now)
        if terms.order_type in PROTECTED and order.protection_price is None:
            order.protection_price = self._protection_price(order)
        events = self._match(order, now, resting=False)
        if terms.validity == "IOC" and order.status == OPEN:
            order.cancelled_quantity = order.pending_quantity
            events += self._finish(order, CANCELLED, now)
        return events

    def _match(self, order: Order, now: datetime, *, resting: bool) -> list[Event]:
        terms, token, side = order.terms, order.instrument.token, order.transaction_type
        epoch = int(now.timestamp())
        priced = terms.order_type in PRICED
        reached = resting and priced and _at_or_better(side, self._market.ltp(token), terms.price)
        limit = terms.price if priced else order.protection_price
        fills = self._market.take(token, side, order.pending_quantity, limit, epoch)
        left = order.pending_quantity - sum(quantity for quantity, _ in fills)
        if reached and left:
            self._market.trade(token, left, terms.price, epoch)
            fills.append((left, terms.price))
        return [self._fill(order, quantity, price, now) for quantity, price in fills]

    def _fill(self, order: Order, quantity: int, price: Decimal, now: datetime) -> Event:
        at = timestamp(now)
        fill = Fill(f"{len(self._fills) + 1:08d}", order, quantity, price, at)
        self._fills.append(fill)
        order.filled_quantity += quantity
        order.traded_value += quantity * price
        order.exchange_update_timestamp = at
        done = order.filled_quantity == order.terms.quantity
        self._set(order, COMPLETE if done else OPEN, now)
        return Event(COMPLETE if done else UPDATE, order.snapshot(None if done else UPDATE), fill.as_dict())

    def _trigger_reached(self, order: Order) -> bool:
        ltp = self._market.ltp(order.instrument.token)
        return _trigger_reached(order.transaction_type, ltp, order.terms.trigger_price)

    def _protection_price(self, order: Order) -> Decimal:
        """The worst price a MARKET or SL-M order accepts: the last price moved by the protection %."""
        terms, instrument = order.terms, order.instrument
        pct = AUTO_PROTECTION_PCT if terms.market_protection == -1 else terms.market_protection
        sign = 1 if order.transaction_type == BUY else -1
        bound = self._market.ltp(instrument.token) * (1 + sign * pct / 100)
        return max(instrument.tick_size, round_to_tick(bound, instrument.tick_size, up=sign < 0))

    def _margin_shortfall(self, order: Order) -> str | None:
        """The RMS check at validation: a buy needs its whole value in cash (no leverage in the sandbox)."""
        if order.transaction_type != BUY:
            return None
        terms = order.terms
        price = terms.price if terms.order_type in PRICED else self._market.ltp(order.instrument.token)
        required = price * terms.quantity
        available = self._live_balance()
        if required <= available:
            return None
        return (
            f"Insufficient funds. Required margin is {required:.2f} but available margin is {available:.2f}."
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _traded(self, side: str) -> Decimal:
        return sum(
            (f.quantity * f.price for f in self._fills if f.order.transaction_type == side), Decimal(0)
        )

    def _live_balance(self) -> Decimal:
        return self._cash + self._traded(SELL) - self._traded(BUY)

    def _get(self, order_id: str) -> Order:
        try:
            return self._orders[order_id]
        except KeyError:
            raise KiteError(f"Couldn't find that `order_id` ({order_id}).") from None

    @staticmethod
    def _require_working(order: Order, verb: str) -> None:
        if order.status in TERMINAL:
            raise KiteError(f"Order cannot be {verb} as it is {order.status.lower()}.")
        if order.status not in WORKING:
            raise KiteError(f"Order cannot be {verb} as it is being processed. Try later.")

    def _set(self, order: Order, status: str, now: datetime) -> list[Event]:
        """Move to `status` and record it in the history; a settled working state is matchable."""
        order.status = status
        if status in WORKING:
            self._working[order.order_id] = order
        else:
            self._working.pop(order.order_id, None)
        if order.exchange_order_id:
            order.exchange_update_timestamp = timestamp(now)
        self._history[order.order_id].append(order.snapshot())
        return []

    def _finish(self, order: Order, status: str, now: datetime) -> list[Event]:
        self._set(order, status, now)
        return [Event(status, order.snapshot())]

    def _position(self, fills: list[Fill]) -> dict[str, object]:
        instrument, product = fills[0].order.instrument, fills[0].order.product
        ltp, close = self._market.ltp(instrument.token), self._market.close(instrument.token)
        row: dict[str, object] = {
            "tradingsymbol": instrument.symbol,
            "exchange": instrument.exchange,
            "instrument_token": instrument.token,
            "product": product,
            "overnight_quantity": 0,
            "multiplier": 1,
            "last_price": _num(ltp),
            "close_price": _num(close),
        }
        totals = {}
        for side in (BUY, SELL):
            mine = [f for f in fills if f.order.transaction_type == side]
            quantity = sum(f.quantity for f in mine)
            value = sum((f.quantity * f.price for f in mine), Decimal(0))
            price = value / quantity if quantity else Decimal(0)
            totals[side] = (quantity, value, price)
            name = side.lower()
            for prefix in ("", "day_"):
                row[f"{prefix}{name}_quantity"] = quantity
                row[f"{prefix}{name}_price"] = _num(price)
                row[f"{prefix}{name}_value"] = _num(value)
            row[f"{name}_m2m"] = _num(value)
        (buy_qty, buy_value, buy_price), (sell_qty, sell_value, sell_price) = totals[BUY], totals[SELL]
        quantity = buy_qty - sell_qty
        pnl = sell_value - buy_value + quantity * ltp
        realised = min(buy_qty, sell_qty) * (sell_price - buy_price)
        average = buy_price if quantity > 0 else sell_price if quantity < 0 else Decimal(0)
        row |= {
            "quantity": quantity,
            "average_price": _num(average),
            "value": _num(sell_value - buy_value),
            "pnl": _num(pnl),
            "m2m": _num(pnl),
            "realised": _num(realised),
            "unrealised": _num(pnl - realised),
        }
        return row

    # One step per transitional status: what `advance` does next.
    _STEPS: dict[str, Callable[[OrderBook, Order, datetime], list[Event]]] = {
        PUT_ORDER_REQ_RECEIVED: _receive,
        VALIDATION_PENDING: _validate,
        OPEN_PENDING: _reach_exchange,
        MODIFY_VALIDATION_PENDING: _validate_modification,
        MODIFY_PENDING: _apply_modification,
        MODIFIED: _work,
        CANCEL_PENDING: _cancel,
    }


def _segment_margins(
    *,
    enabled: bool,
    cash: Decimal = Decimal(0),
    live: Decimal = Decimal(0),
    debits: Decimal = Decimal(0),
    turnover: Decimal = Decimal(0),
    realised: float = 0.0,
    unrealised: float = 0.0,
) -> dict[str, object]:
    return {
        "enabled": enabled,
        "net": _num(live),
        "available": {
            "adhoc_margin": 0,
            "cash": _num(cash),
            "opening_balance": _num(cash),
            "live_balance": _num(live),
            "collateral": 0,
            "intraday_payin": 0,
        },
        "utilised": {
            "debits": _num(debits),
            "exposure": 0,
            "m2m_realised": realised,
            "m2m_unrealised": unrealised,
            "option_premium": 0,
            "payout": 0,
            "span": 0,
            "holding_sales": 0,
            "turnover": _num(turnover),
            "liquid_collateral": 0,
            "stock_collateral": 0,
            "delivery": 0,
        },
    }
