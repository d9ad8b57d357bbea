"""Kite's instruments dump (as kiteconnect parses it) to domain instruments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from trading.instruments import Instrument


def _decimal(value) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value or 0))


def from_kite(rows: Iterable[dict]) -> Iterator[Instrument]:
    for row in rows:
        expiry = row.get("expiry")
        yield Instrument(
            token=int(row["instrument_token"]),
            symbol=row["tradingsymbol"],
            exchange=row["exchange"],
            lot_size=int(row.get("lot_size") or 1),
            tick_size=_decimal(row.get("tick_size") or "0.05"),
            name=row.get("name") or "",
            instrument_type=row.get("instrument_type") or "EQ",
            segment=row.get("segment") or row["exchange"],
            last_price=_decimal(row.get("last_price")),
            expiry=expiry or None,
            strike=_decimal(row.get("strike")),
        )
