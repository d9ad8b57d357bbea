"""KiteTicker's parsed ticks (dicts) to domain ticks. Pure.

The client has already divided prices by the segment's divisor and turned times into naive local
datetimes (KITE.md §5); prices arrive as floats, whose shortest repr is the exchange's price.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from alphapanda.events import Tick
from trading.instruments import Instrument


class InvalidTick(ValueError):
    """A tick no market could have sent (a price or size beyond the schema's bounds): dropped, not fatal."""


def _price(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _levels(entries: list[dict]) -> list[list]:
    return [
        [_price(e["price"]), int(e["quantity"]), int(e.get("orders", 0))]
        for e in entries
        if e.get("price") and e.get("quantity")
    ]


def to_tick(data: dict, instrument: Instrument, *, received_ns: int) -> Tick | None:
    """None for a tick with no price (a closed market sends zeros); `InvalidTick` for an impossible one.

    Validated as the consumers will decode it, so the feed never publishes a tick they would refuse.
    """
    if not data.get("last_price"):
        return None
    depth = data.get("depth") or {}
    stamp = data.get("exchange_timestamp") or data.get("last_trade_time")
    ts = int(stamp.timestamp() * 1e9) if isinstance(stamp, datetime) else received_ns
    fields = {
        "instrument_token": instrument.token,
        "symbol": instrument.symbol,
        "exchange": instrument.exchange,
        "ltp": _price(data["last_price"]),
        "volume": int(data.get("volume_traded") or 0),
        "bids": _levels(depth.get("buy", [])),
        "asks": _levels(depth.get("sell", [])),
        "ts": ts,
    }
    try:
        return msgspec.convert(fields, Tick)
    except msgspec.ValidationError as exc:
        raise InvalidTick(f"impossible tick for {instrument.symbol} ({instrument.token}): {exc}") from None
