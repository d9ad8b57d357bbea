"""Tradable instruments as the domain sees them, and the Kite-format instruments file."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

SHIPPED_INSTRUMENTS = Path(__file__).resolve().parent / "data" / "instruments.csv"

# Kite's instruments dump header, in its order (see KITE.md §1).
KITE_CSV_FIELDS = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)


@dataclass(frozen=True)
class Instrument:
    token: int
    symbol: str
    exchange: str
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")
    name: str = ""
    instrument_type: str = "EQ"
    segment: str = "NSE"
    last_price: Decimal = Decimal("0")
    expiry: date | None = None
    strike: Decimal = Decimal("0")


def parse_rows(rows: Iterable[dict[str, str]]) -> Iterator[Instrument]:
    for row in rows:
        expiry = row.get("expiry") or ""
        yield Instrument(
            token=int(row["instrument_token"]),
            symbol=row["tradingsymbol"],
            exchange=row["exchange"],
            lot_size=int(row["lot_size"] or 1),
            tick_size=Decimal(row["tick_size"] or "0.05"),
            name=row.get("name", ""),
            instrument_type=row.get("instrument_type") or "EQ",
            segment=row.get("segment") or row["exchange"],
            last_price=Decimal(row.get("last_price") or "0"),
            expiry=date.fromisoformat(expiry) if len(expiry) == 10 else None,
            strike=Decimal(row.get("strike") or "0"),
        )


def load_csv(path: Path = SHIPPED_INSTRUMENTS) -> list[Instrument]:
    with path.open(newline="") as handle:
        return list(parse_rows(csv.DictReader(handle)))
