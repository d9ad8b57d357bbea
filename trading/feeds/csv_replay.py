"""Recorded ticks as CSV: read them back for replay, pace them in time, and write new recordings.

One row per tick with the best bid and ask only (`ts,instrument_token,ltp,volume,bid,bid_qty,ask,
ask_qty`), so a recording is small and easy to edit by hand. `ts` is epoch seconds (decimals allowed)
or ISO-8601 with an offset; recordings are written as epoch seconds with nine decimals, which keeps
the nanosecond timestamp exact through a write/read round trip.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from alphapanda.events import Level, Tick
from trading.instruments import Instrument

FIELDS = ("ts", "instrument_token", "ltp", "volume", "bid", "bid_qty", "ask", "ask_qty")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_ticks(path: Path | str, instruments: Mapping[int, Instrument]) -> Iterator[Tick]:
    """Lazily parse a recording; any bad row raises ValueError naming `path:line`, so it can be fixed."""
    with Path(path).open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != FIELDS:
            raise ValueError(f"{path}:1: the header must be {','.join(FIELDS)}, got {header}")
        for row in reader:
            if not row:
                continue
            try:
                tick = _parse_row(row, instruments)
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(f"{path}:{reader.line_num}: {exc}") from exc
            yield tick


def write_ticks(path: Path | str, ticks: Iterable[Tick]) -> int:
    """Record `ticks` in the format `read_ticks` replays (book cut to one level); returns the count."""
    count = 0
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for tick in ticks:
            bid = tick.bids[0] if tick.bids else None
            ask = tick.asks[0] if tick.asks else None
            writer.writerow(
                (
                    f"{Decimal(tick.ts).scaleb(-9):f}",
                    tick.instrument_token,
                    f"{tick.ltp:f}",
                    tick.volume,
                    *_level_fields(bid),
                    *_level_fields(ask),
                )
            )
            count += 1
    return count


def paced(ticks: Iterable[Tick], *, speed: float) -> Iterator[tuple[float, Tick]]:
    """Pair each tick with the seconds to wait after the previous one: the recorded gap / `speed`.

    `speed` 0 or infinity replays as fast as possible; a timestamp going backwards waits 0.
    """
    if math.isnan(speed) or speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    seconds_per_ns = 0.0 if speed == 0 or math.isinf(speed) else 1e-9 / speed
    previous: int | None = None
    for tick in ticks:
        gap = 0 if previous is None else max(0, tick.ts - previous)
        previous = tick.ts
        yield gap * seconds_per_ns, tick


def parse_ts(text: str) -> int:
    """Nanoseconds since the epoch from epoch seconds or an ISO-8601 time with an offset."""
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        pass
    else:
        if not seconds.is_finite():
            raise ValueError(f"ts {text!r} is not a time")
        return int(seconds.scaleb(9))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"ts {text!r} is neither epoch seconds nor ISO-8601") from None
    if moment.tzinfo is None:
        raise ValueError(f"ts {text!r} has no timezone offset, so the instant is ambiguous")
    elapsed = moment - EPOCH
    return (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000_000 + elapsed.microseconds * 1_000


def _parse_row(row: list[str], instruments: Mapping[int, Instrument]) -> Tick:
    if len(row) != len(FIELDS):
        raise ValueError(f"expected {len(FIELDS)} fields, got {len(row)}")
    ts, token, ltp, volume, bid, bid_qty, ask, ask_qty = row
    instrument = instruments.get(_count("instrument_token", token))
    if instrument is None:
        raise ValueError(f"unknown instrument_token {token}")
    return Tick(
        instrument_token=instrument.token,
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        ltp=_decimal("ltp", ltp),
        volume=_count("volume", volume),
        bids=_level("bid", bid, bid_qty),
        asks=_level("ask", ask, ask_qty),
        ts=parse_ts(ts),
    )


def _level(side: str, price: str, quantity: str) -> tuple[Level, ...]:
    """A one-level book side; both fields empty means no quote (as for an index)."""
    if not price and not quantity:
        return ()
    return (Level(_decimal(side, price), _count(f"{side}_qty", quantity)),)


def _level_fields(level: Level | None) -> tuple[str, str | int]:
    return ("", "") if level is None else (f"{level.price:f}", level.quantity)


def _decimal(field: str, text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{field} {text!r} is not a number") from None


def _count(field: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{field} {value} is negative")
    return value
