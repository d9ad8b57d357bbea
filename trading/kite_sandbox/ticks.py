"""Kite's binary market-data frames, encoded: the exact inverse of `KiteTicker._parse_binary` (KITE.md §5).

A frame is a big-endian uint16 packet count, then each packet as a uint16 length and its bytes. The
client tells a packet's mode from its length alone, so every layout here has the length Kite uses.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

MODE_LTP = "ltp"
MODE_QUOTE = "quote"
MODE_FULL = "full"
MODES = (MODE_LTP, MODE_QUOTE, MODE_FULL)

SEGMENT_CDS = 3
SEGMENT_BCD = 6
SEGMENT_INDICES = 9
SEGMENT_NCO = 12

DEPTH_LEVELS = 5
HEARTBEAT = b"\x00"  # one byte: the client's on_ticks ignores anything of 4 bytes or fewer

_LTP = struct.Struct(">II")
_INDEX = struct.Struct(">IIIIIIi")  # token, ltp, high, low, open, close, change (signed: it can fall)
_INDEX_FULL = struct.Struct(">IIIIIIiI")  # ... then exchange_timestamp
_QUOTE = struct.Struct(">IIIIIIIIIII")
_FULL_TAIL = struct.Struct(">IIIII")  # last_trade_time, oi, oi_day_high, oi_day_low, exchange_timestamp
_DEPTH = struct.Struct(">IIH2x")  # quantity, price, orders, two bytes of padding


@dataclass(frozen=True)
class DepthLevel:
    price: Decimal
    quantity: int
    orders: int


EMPTY_LEVEL = DepthLevel(Decimal(0), 0, 0)


@dataclass(frozen=True, kw_only=True)
class TickData:
    """One instrument's market as a tick carries it; prices in rupees, times in epoch seconds."""

    instrument_token: int
    last_price: Decimal
    open: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    close: Decimal = Decimal(0)
    last_traded_quantity: int = 0
    average_traded_price: Decimal = Decimal(0)
    volume_traded: int = 0
    total_buy_quantity: int = 0
    total_sell_quantity: int = 0
    last_trade_time: int = 0
    oi: int = 0
    oi_day_high: int = 0
    oi_day_low: int = 0
    exchange_timestamp: int = 0
    buy: tuple[DepthLevel, ...] = ()
    sell: tuple[DepthLevel, ...] = ()

    @property
    def is_index(self) -> bool:
        return is_index(self.instrument_token)


def is_index(instrument_token: int) -> bool:
    """Indices (segment 9) have a value but no book, and the client marks them not tradable."""
    return instrument_token & 0xFF == SEGMENT_INDICES


def divisor(instrument_token: int) -> int:
    """Prices travel as integers: rupees times this, by the segment in the token's low byte."""
    segment = instrument_token & 0xFF
    if segment == SEGMENT_CDS:
        return 10_000_000
    if segment in (SEGMENT_BCD, SEGMENT_NCO):
        return 10_000
    return 100


def padded(levels: Sequence[DepthLevel]) -> tuple[DepthLevel, ...]:
    """Exactly five levels, as Kite always sends: the missing ones are zeros."""
    return (tuple(levels) + (EMPTY_LEVEL,) * DEPTH_LEVELS)[:DEPTH_LEVELS]


def packet(tick: TickData, mode: str) -> bytes:
    """The packet for `mode`: LTP 8 bytes; an index 28 (quote) or 32 (full); quote 44; full 184."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")
    scale = divisor(tick.instrument_token)

    def p(value: Decimal) -> int:
        return int((Decimal(value) * scale).to_integral_value())

    token, ltp = tick.instrument_token, p(tick.last_price)
    if mode == MODE_LTP:
        return _LTP.pack(token, ltp)
    if tick.is_index:
        fields = (token, ltp, p(tick.high), p(tick.low), p(tick.open), p(tick.close), ltp - p(tick.close))
        if mode == MODE_QUOTE:
            return _INDEX.pack(*fields)
        return _INDEX_FULL.pack(*fields, tick.exchange_timestamp)
    quote = _QUOTE.pack(
        token,
        ltp,
        tick.last_traded_quantity,
        p(tick.average_traded_price),
        tick.volume_traded,
        tick.total_buy_quantity,
        tick.total_sell_quantity,
        p(tick.open),
        p(tick.high),
        p(tick.low),
        p(tick.close),
    )
    if mode == MODE_QUOTE:
        return quote
    tail = _FULL_TAIL.pack(
        tick.last_trade_time, tick.oi, tick.oi_day_high, tick.oi_day_low, tick.exchange_timestamp
    )
    depth = b"".join(
        _DEPTH.pack(level.quantity, p(level.price), level.orders)
        for level in padded(tick.buy) + padded(tick.sell)
    )
    return quote + tail + depth


def frame(packets: Sequence[bytes]) -> bytes:
    """One websocket binary message carrying `packets`."""
    if len(packets) > 0xFFFF:
        raise ValueError(f"{len(packets)} packets do not fit one frame (at most 65535)")
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(b)) + b for b in packets)
