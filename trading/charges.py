"""Zerodha's charges as a dated table, so a trade is costed at the rates in force on its day.

Rates follow zerodha.com/charges and its brokerage calculator. Exchange transaction charges are the
exchanges' flat fees from 2024-10-01 (NSE/BSE circulars of 2024-09-27, under SEBI's uniform-fee
circular of 2024-07-01); STT is the statutory rate of the Finance Act in force.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from alphapanda.events import Charges, Product, Side
from alphapanda.money import round_paise

CRORE = Decimal(10_000_000)
ZERO = Decimal(0)

# Derivatives trade on their own exchange codes but pay the parent exchange's fees.
_FEE_EXCHANGE = {"NSE": "NSE", "BSE": "BSE", "NFO": "NSE", "BFO": "BSE"}


class Segment(enum.StrEnum):
    EQUITY = "EQ"
    FUTURES = "FUT"
    OPTIONS = "OPT"


def segment_of(*, exchange: str, instrument_type: str) -> Segment:
    """Commodity and currency segments have other charges entirely, so they are refused, not guessed."""
    if exchange not in _FEE_EXCHANGE:
        raise ValueError(f"no charge schedule for exchange {exchange!r} (only NSE/BSE/NFO/BFO)")
    if instrument_type == "FUT":
        return Segment.FUTURES
    if instrument_type in ("CE", "PE"):
        return Segment.OPTIONS
    return Segment.EQUITY


@dataclass(frozen=True)
class ChargeSchedule:
    """One segment's rates from `effective_from` until a newer row replaces them. Rates are fractions."""

    effective_from: date
    segment: Segment
    delivery: bool  # equity CNC; F&O rows are always False
    brokerage_rate: Decimal
    brokerage_cap: Decimal | None  # per executed order
    brokerage_flat: Decimal | None  # per executed order, instead of the rate
    stt_buy_rate: Decimal
    stt_sell_rate: Decimal
    exchange_rate: Mapping[str, Decimal] = field(hash=False)
    stamp_buy_rate: Decimal
    sebi_per_crore: Decimal = Decimal(10)
    gst_rate: Decimal = Decimal("0.18")  # on brokerage + exchange txn + SEBI fee


def _pct(percent: str) -> Decimal:
    """The schedule is published in percent; writing it the same way keeps the table checkable by eye."""
    return Decimal(percent) / 100


def _row(
    effective_from: str,
    segment: Segment,
    *,
    exchange: dict[str, str],
    stamp_buy: str,
    stt_sell: str,
    stt_buy: str = "0",
    delivery: bool = False,
    brokerage: str = "0",
    cap: str | None = None,
    flat: str | None = None,
) -> ChargeSchedule:
    return ChargeSchedule(
        effective_from=date.fromisoformat(effective_from),
        segment=segment,
        delivery=delivery,
        brokerage_rate=_pct(brokerage),
        brokerage_cap=None if cap is None else Decimal(cap),
        brokerage_flat=None if flat is None else Decimal(flat),
        stt_buy_rate=_pct(stt_buy),
        stt_sell_rate=_pct(stt_sell),
        exchange_rate={venue: _pct(rate) for venue, rate in exchange.items()},
        stamp_buy_rate=_pct(stamp_buy),
    )


_EQ, _FUT, _OPT = Segment.EQUITY, Segment.FUTURES, Segment.OPTIONS

# 2023-04-01 stands for "before 2024-10-01": NSE's volume slabs moved several times in between and
# the rates below are the last ones before the flat fee. BSE equity 0.00375% is carried back
# unverified; BSE options were slab-priced then, so no BSE options rate is claimed for that period.
SCHEDULES: tuple[ChargeSchedule, ...] = (
    _row("2023-04-01", _EQ, delivery=True, stt_buy="0.1", stt_sell="0.1",
         exchange={"NSE": "0.00322", "BSE": "0.00375"}, stamp_buy="0.015"),
    _row("2023-04-01", _EQ, brokerage="0.03", cap="20", stt_sell="0.025",
         exchange={"NSE": "0.00322", "BSE": "0.00375"}, stamp_buy="0.003"),
    _row("2023-04-01", _FUT, brokerage="0.03", cap="20", stt_sell="0.0125",
         exchange={"NSE": "0.00188", "BSE": "0"}, stamp_buy="0.002"),
    _row("2023-04-01", _OPT, flat="20", stt_sell="0.0625", exchange={"NSE": "0.05"}, stamp_buy="0.003"),
    # Flat exchange fees from 2024-10-01; Finance (No. 2) Act 2024 raised F&O STT the same day.
    _row("2024-10-01", _EQ, delivery=True, stt_buy="0.1", stt_sell="0.1",
         exchange={"NSE": "0.00297", "BSE": "0.00375"}, stamp_buy="0.015"),
    _row("2024-10-01", _EQ, brokerage="0.03", cap="20", stt_sell="0.025",
         exchange={"NSE": "0.00297", "BSE": "0.00375"}, stamp_buy="0.003"),
    _row("2024-10-01", _FUT, brokerage="0.03", cap="20", stt_sell="0.02",
         exchange={"NSE": "0.00173", "BSE": "0"}, stamp_buy="0.002"),
    _row("2024-10-01", _OPT, flat="20", stt_sell="0.1",
         exchange={"NSE": "0.03503", "BSE": "0.0325"}, stamp_buy="0.003"),
    # Budget 2026 (Finance Act 2026) raised F&O STT from 2026-04-01 (per cleartax.in's STT page).
    # Exchange fees are carried forward from 2024-10-01: a later NSE revision has not been verified.
    _row("2026-04-01", _FUT, brokerage="0.03", cap="20", stt_sell="0.05",
         exchange={"NSE": "0.00173", "BSE": "0"}, stamp_buy="0.002"),
    _row("2026-04-01", _OPT, flat="20", stt_sell="0.15",
         exchange={"NSE": "0.03503", "BSE": "0.0325"}, stamp_buy="0.003"),
)  # fmt: skip


def schedule_for(*, segment: Segment, product: Product, on: date) -> ChargeSchedule:
    """MIS and NRML on equity are costed as intraday, as Zerodha does; only CNC is delivery."""
    delivery = segment is Segment.EQUITY and product is Product.CNC
    rows = [
        row
        for row in SCHEDULES
        if row.segment is segment and row.delivery == delivery and row.effective_from <= on
    ]
    if not rows:
        raise ValueError(f"no {segment.value} charge schedule (delivery={delivery}) in force on {on}")
    return max(rows, key=lambda row: row.effective_from)


def _exchange_rate(schedule: ChargeSchedule, exchange: str) -> Decimal:
    venue = _FEE_EXCHANGE.get(exchange, exchange)
    try:
        return schedule.exchange_rate[venue]
    except KeyError:
        raise ValueError(
            f"no {schedule.segment.value} exchange rate for {exchange} from {schedule.effective_from}"
        ) from None


def _order_brokerage(schedule: ChargeSchedule, value: Decimal, paid_so_far: Decimal) -> Decimal:
    """The cap and the flat fee are per executed order: earlier fills of the order used up part of it."""
    if schedule.brokerage_flat is not None:
        return schedule.brokerage_flat if paid_so_far == 0 else ZERO
    fee = round_paise(value * schedule.brokerage_rate)
    if schedule.brokerage_cap is not None:
        fee = min(fee, schedule.brokerage_cap - paid_so_far)
    return max(fee, ZERO)


def _charges(
    schedule: ChargeSchedule,
    *,
    exchange: str,
    brokerage: Decimal,
    buy_value: Decimal,
    sell_value: Decimal,
) -> Charges:
    """Percent-of-value components on the given buy and sell values, then GST on the rounded parts."""
    turnover = buy_value + sell_value
    exchange_fee = round_paise(turnover * _exchange_rate(schedule, exchange))
    sebi = round_paise(turnover * schedule.sebi_per_crore / CRORE)
    return Charges(
        brokerage=brokerage,
        stt=round_paise(buy_value * schedule.stt_buy_rate + sell_value * schedule.stt_sell_rate),
        exchange=exchange_fee,
        sebi=sebi,
        stamp=round_paise(buy_value * schedule.stamp_buy_rate),
        gst=round_paise((brokerage + exchange_fee + sebi) * schedule.gst_rate),
    )


def fill_charges(
    *,
    segment: Segment,
    product: Product,
    exchange: str,
    side: Side,
    quantity: int,
    price: Decimal,
    on: date,
    order_brokerage_so_far: Decimal = ZERO,
) -> Charges:
    """Charges of one fill; `order_brokerage_so_far` is what earlier fills of the same order paid.

    Options turnover is premium turnover, so `price` is the premium either way.
    """
    schedule = schedule_for(segment=segment, product=product, on=on)
    value = quantity * price
    buy_value, sell_value = (value, ZERO) if side is Side.BUY else (ZERO, value)
    return _charges(
        schedule,
        exchange=exchange,
        brokerage=_order_brokerage(schedule, value, order_brokerage_so_far),
        buy_value=buy_value,
        sell_value=sell_value,
    )


def round_trip_charges(
    *,
    segment: Segment,
    product: Product,
    exchange: str,
    buy_price: Decimal,
    sell_price: Decimal,
    quantity: int,
    on: date,
) -> Charges:
    """A buy order and a sell order of `quantity`, as Zerodha's brokerage calculator shows them.

    Each component is rounded once on the combined values, so summing `fill_charges` of the two
    legs can differ from this by a paisa per component. (The calculator also shows STT rounded to
    the rupee, as contract notes do; here it is kept to the paisa like every other component.)
    """
    schedule = schedule_for(segment=segment, product=product, on=on)
    buy_value, sell_value = quantity * buy_price, quantity * sell_price
    brokerage = _order_brokerage(schedule, buy_value, ZERO) + _order_brokerage(schedule, sell_value, ZERO)
    return _charges(
        schedule, exchange=exchange, brokerage=brokerage, buy_value=buy_value, sell_value=sell_value
    )
