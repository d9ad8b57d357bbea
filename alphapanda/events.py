"""The payloads carried on the bus: ticks, signals, orders, fills and their failures.

Plain data (msgspec structs), validated when decoded: a payload that decodes is one the domain can
trust. Prices and money are `Decimal` (JSON strings on the wire), quantities are positive ints.
Imported by the pure domain modules, so it depends on nothing but msgspec.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import msgspec

MAX_QUANTITY = 10_000_000
MAX_PRICE = Decimal("10000000")  # ₹1 crore a unit: beyond any NSE instrument
# Printable text only: PostgreSQL cannot store NUL, and no name or id needs a control character.
PRINTABLE = r"^[^\x00-\x1f\x7f]*\Z"  # \Z: `$` would let a trailing newline through

Quantity = Annotated[int, msgspec.Meta(gt=0, le=MAX_QUANTITY)]
Token = Annotated[int, msgspec.Meta(gt=0, lt=2**32)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=PRINTABLE)]
Exchange = Annotated[str, msgspec.Meta(min_length=1, max_length=8, pattern=PRINTABLE)]  # NSE, BSE, NFO, ...
Nanos = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # ns since epoch; the ledger keeps them in bigints


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class Product(enum.StrEnum):
    CNC = "CNC"
    MIS = "MIS"
    NRML = "NRML"


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"  # sent to the broker, not yet confirmed open (Kite's ... REQ RECEIVED, ... PENDING)
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER PENDING"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


_ZERO = Decimal(0)  # a Decimal against a Decimal: comparing with the int 0 costs a conversion each time


def check_price(value: Decimal | None, field: str) -> None:
    """Reject the impossible: not finite, not positive, or absurdly large."""
    if value is not None and not (value.is_finite() and _ZERO < value <= MAX_PRICE):
        raise ValueError(f"{field} {value} is not a possible price (must be > 0 and <= {MAX_PRICE})")


def check_depth(bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
    """Every depth price possible, checked by the tick or signal that holds the book, in one loop: a
    check of its own in each level, a call as each was decoded, cost more (docs/performance.md)."""
    for side, levels in (("bids", bids), ("asks", asks)):
        for level in levels:
            price = level.price
            if not (price.is_finite() and _ZERO < price <= MAX_PRICE):
                at = next(i for i, each in enumerate(levels) if each is level)
                check_price(price, f"{side}[{at}] depth price")


class Level(msgspec.Struct, frozen=True, array_like=True):
    """One depth level: [price, quantity, orders]; its price is checked by the book that holds it
    (`check_depth`)."""

    price: Decimal
    quantity: Annotated[int, msgspec.Meta(ge=0, le=MAX_QUANTITY * 100)]
    orders: Annotated[int, msgspec.Meta(ge=0)] = 0


class Tick(msgspec.Struct, frozen=True, kw_only=True):
    instrument_token: Token
    symbol: Name
    exchange: Exchange
    ltp: Decimal
    volume: Annotated[int, msgspec.Meta(ge=0)] = 0
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    ts: Nanos  # exchange time

    def __post_init__(self) -> None:
        check_price(self.ltp, "ltp")
        check_depth(self.bids, self.asks)

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy's intent to trade; `bids`/`asks` are the book it saw when it decided."""

    strategy: Name
    instrument_token: Token
    symbol: Name
    exchange: Exchange
    side: Side
    quantity: Quantity
    order_type: OrderType = OrderType.MARKET
    product: Product = Product.MIS
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reference_price: Decimal
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    reason: str = ""
    ts: Nanos

    def __post_init__(self) -> None:
        check_price(self.reference_price, "reference_price")
        check_price(self.price, "price")
        check_price(self.trigger_price, "trigger_price")
        check_depth(self.bids, self.asks)
        if self.order_type in (OrderType.LIMIT, OrderType.SL) and self.price is None:
            raise ValueError(f"a {self.order_type.value} order needs a price")
        if self.order_type in (OrderType.SL, OrderType.SL_M) and self.trigger_price is None:
            raise ValueError(f"a {self.order_type.value} order needs a trigger_price")


class SignalRejection(msgspec.Struct, frozen=True, kw_only=True):
    signal: Signal
    rule: Name
    reason: str


class Order(msgspec.Struct, frozen=True, kw_only=True):
    order_id: Name
    signal_id: Name
    strategy: Name
    instrument_token: Token
    symbol: Name
    exchange: Exchange
    side: Side
    quantity: Quantity
    order_type: OrderType
    product: Product
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    status: OrderStatus

    def __post_init__(self) -> None:
        check_price(self.price, "price")
        check_price(self.trigger_price, "trigger_price")


class Charges(msgspec.Struct, frozen=True, kw_only=True):
    """Statutory and broker charges of one fill, each rounded to the paisa."""

    brokerage: Decimal = Decimal("0")
    stt: Decimal = Decimal("0")
    exchange: Decimal = Decimal("0")
    sebi: Decimal = Decimal("0")
    stamp: Decimal = Decimal("0")
    gst: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return self.brokerage + self.stt + self.exchange + self.sebi + self.stamp + self.gst

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if not value.is_finite() or value < 0:
                raise ValueError(f"charge {name} {value} must be a non-negative amount")


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    fill_id: Name
    order_id: Name
    strategy: Name
    instrument_token: Token
    symbol: Name
    exchange: Exchange
    side: Side
    quantity: Quantity
    price: Decimal
    product: Product
    charges: Charges = Charges()
    ts: Nanos

    def __post_init__(self) -> None:
        check_price(self.price, "price")


class OrderFailure(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str | None = None
    signal_id: Name
    strategy: Name
    instrument_token: Token
    reason: str


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message that could not be processed, kept whole with the reason."""

    topic: str
    partition: int
    offset: int
    stage: str
    error: str
    value: str  # the original bytes, utf-8 where they decode, else base64 with value_encoding set
    value_encoding: str = "utf-8"
    key: str | None = None
    truncated_from: int | None = None  # the original's size, when only its head is kept (it was too big)
