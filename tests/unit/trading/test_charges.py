"""Worked examples of Zerodha's charges, computed by hand in the comments.

Each component is rounded half-up to the paisa; GST is 18% of (brokerage + exchange + SEBI) after
those are rounded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from alphapanda.events import Charges, Product, Side
from trading.charges import (
    SCHEDULES,
    Segment,
    fill_charges,
    round_trip_charges,
    schedule_for,
    segment_of,
)

D = Decimal
AFTER_SWITCH = date(2025, 1, 15)
BEFORE_SWITCH = date(2024, 9, 30)


def charges(brokerage: str, stt: str, exchange: str, sebi: str, gst: str, stamp: str) -> Charges:
    return Charges(
        brokerage=D(brokerage), stt=D(stt), exchange=D(exchange), sebi=D(sebi), gst=D(gst), stamp=D(stamp)
    )


def equity_round_trip(product: Product, on: date = AFTER_SWITCH, exchange: str = "NSE") -> Charges:
    return round_trip_charges(
        segment=Segment.EQUITY,
        product=product,
        exchange=exchange,
        buy_price=D(1000),
        sell_price=D(1100),
        quantity=400,
        on=on,
    )


# --- segments and schedules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "instrument_type", "segment"),
    [
        ("NSE", "EQ", Segment.EQUITY),
        ("BSE", "EQ", Segment.EQUITY),
        ("NSE", "BE", Segment.EQUITY),
        ("NFO", "FUT", Segment.FUTURES),
        ("NFO", "CE", Segment.OPTIONS),
        ("BFO", "PE", Segment.OPTIONS),
    ],
)
def test_segment_of(exchange: str, instrument_type: str, segment: Segment) -> None:
    assert segment_of(exchange=exchange, instrument_type=instrument_type) is segment


def test_segment_of_refuses_commodities() -> None:
    with pytest.raises(ValueError, match="MCX"):
        segment_of(exchange="MCX", instrument_type="FUT")


@pytest.mark.parametrize(
    ("product", "delivery"), [(Product.CNC, True), (Product.MIS, False), (Product.NRML, False)]
)
def test_only_cnc_equity_is_delivery(product: Product, delivery: bool) -> None:
    assert schedule_for(segment=Segment.EQUITY, product=product, on=AFTER_SWITCH).delivery is delivery


def test_fno_schedule_ignores_product() -> None:
    nrml = schedule_for(segment=Segment.FUTURES, product=Product.NRML, on=AFTER_SWITCH)
    assert schedule_for(segment=Segment.FUTURES, product=Product.MIS, on=AFTER_SWITCH) == nrml


def test_schedule_picks_newest_row_in_force() -> None:
    assert schedule_for(segment=Segment.EQUITY, product=Product.CNC, on=date(2024, 10, 1)).exchange_rate[
        "NSE"
    ] == D("0.0000297")
    assert schedule_for(segment=Segment.EQUITY, product=Product.CNC, on=BEFORE_SWITCH).exchange_rate[
        "NSE"
    ] == D("0.0000322")


def test_no_schedule_before_the_table_raises() -> None:
    earliest = min(row.effective_from for row in SCHEDULES)
    with pytest.raises(ValueError, match="no EQ charge schedule"):
        schedule_for(segment=Segment.EQUITY, product=Product.MIS, on=date(earliest.year - 1, 1, 1))


def test_unknown_exchange_rate_raises() -> None:
    # BSE options were slab-priced before 2024-10-01: the table claims no rate for them.
    with pytest.raises(ValueError, match="BFO"):
        fill_charges(
            segment=Segment.OPTIONS,
            product=Product.NRML,
            exchange="BFO",
            side=Side.BUY,
            quantity=20,
            price=D(100),
            on=BEFORE_SWITCH,
        )


# --- round trips, as the brokerage calculator shows them ----------------------------------------


def test_equity_delivery_round_trip() -> None:
    # buy 400 @ 1000 = 400000, sell 400 @ 1100 = 440000, turnover 840000
    # brokerage 0 (delivery is free)
    # STT 0.1% of 840000 = 840.00
    # NSE 0.00297% of 840000 = 24.948 -> 24.95
    # SEBI 840000 * 10 / 1e7 = 0.84
    # GST 18% of (0 + 24.95 + 0.84) = 4.6422 -> 4.64
    # stamp 0.015% of 400000 = 60.00
    result = equity_round_trip(Product.CNC)
    assert result == charges("0", "840.00", "24.95", "0.84", "4.64", "60.00")
    assert result.total == D("930.43")


def test_equity_intraday_round_trip() -> None:
    # brokerage 0.03% of 400000 = 120 -> cap 20; of 440000 = 132 -> cap 20; two orders = 40.00
    # STT 0.025% of sell 440000 = 110.00
    # NSE 24.95, SEBI 0.84 as above
    # GST 18% of (40 + 24.95 + 0.84) = 11.8422 -> 11.84
    # stamp 0.003% of 400000 = 12.00
    result = equity_round_trip(Product.MIS)
    assert result == charges("40.00", "110.00", "24.95", "0.84", "11.84", "12.00")
    assert result.total == D("199.63")


def test_nrml_on_equity_costs_as_intraday() -> None:
    assert equity_round_trip(Product.NRML) == equity_round_trip(Product.MIS)


def test_equity_delivery_on_bse() -> None:
    # BSE 0.00375% of 840000 = 31.50; GST 18% of (31.50 + 0.84) = 5.8212 -> 5.82
    result = equity_round_trip(Product.CNC, exchange="BSE")
    assert result == charges("0", "840.00", "31.50", "0.84", "5.82", "60.00")
    assert result.total == D("938.16")


def test_small_intraday_order_pays_rate_not_cap() -> None:
    # buy 10 @ 500 = 5000, sell 10 @ 505 = 5050, turnover 10050
    # brokerage 0.03% of 5000 = 1.50; of 5050 = 1.515 -> 1.52; total 3.02 (both under ₹20)
    # STT 0.025% of 5050 = 1.2625 -> 1.26
    # NSE 0.00297% of 10050 = 0.298485 -> 0.30
    # SEBI 10050 * 1e-6 = 0.01005 -> 0.01
    # GST 18% of (3.02 + 0.30 + 0.01) = 0.5994 -> 0.60
    # stamp 0.003% of 5000 = 0.15
    result = round_trip_charges(
        segment=Segment.EQUITY,
        product=Product.MIS,
        exchange="NSE",
        buy_price=D(500),
        sell_price=D(505),
        quantity=10,
        on=AFTER_SWITCH,
    )
    assert result == charges("3.02", "1.26", "0.30", "0.01", "0.60", "0.15")
    assert result.total == D("5.34")


def test_futures_round_trip() -> None:
    # NIFTY fut, one lot of 75: buy @ 24000 = 1800000, sell @ 24100 = 1807500, turnover 3607500
    # brokerage 0.03% of each leg > 20 -> 20 + 20 = 40.00
    # STT 0.02% of 1807500 = 361.50
    # NSE 0.00173% of 3607500 = 62.40975 -> 62.41
    # SEBI 3607500 * 1e-6 = 3.6075 -> 3.61
    # GST 18% of (40 + 62.41 + 3.61) = 19.0836 -> 19.08
    # stamp 0.002% of 1800000 = 36.00
    result = round_trip_charges(
        segment=Segment.FUTURES,
        product=Product.NRML,
        exchange="NFO",
        buy_price=D(24000),
        sell_price=D(24100),
        quantity=75,
        on=AFTER_SWITCH,
    )
    assert result == charges("40.00", "361.50", "62.41", "3.61", "19.08", "36.00")
    assert result.total == D("522.60")


def test_options_round_trip() -> None:
    # NIFTY CE, 75 @ premium 100 = 7500 bought, 75 @ 110 = 8250 sold, premium turnover 15750
    # brokerage flat 20 per order = 40.00
    # STT 0.1% of sell premium 8250 = 8.25
    # NSE 0.03503% of 15750 = 5.517225 -> 5.52
    # SEBI 15750 * 1e-6 = 0.01575 -> 0.02
    # GST 18% of (40 + 5.52 + 0.02) = 8.1972 -> 8.20
    # stamp 0.003% of 7500 = 0.225 -> 0.23 (half up)
    result = round_trip_charges(
        segment=Segment.OPTIONS,
        product=Product.NRML,
        exchange="NFO",
        buy_price=D(100),
        sell_price=D(110),
        quantity=75,
        on=AFTER_SWITCH,
    )
    assert result == charges("40.00", "8.25", "5.52", "0.02", "8.20", "0.23")
    assert result.total == D("62.22")


# --- the dated switch of 2024-10-01 --------------------------------------------------------------


def test_delivery_before_switch_uses_old_exchange_rate() -> None:
    # NSE 0.00322% of 840000 = 27.048 -> 27.05
    # GST 18% of (27.05 + 0.84) = 5.0202 -> 5.02
    result = equity_round_trip(Product.CNC, on=BEFORE_SWITCH)
    assert result == charges("0", "840.00", "27.05", "0.84", "5.02", "60.00")
    assert result.total == D("932.91")


def test_futures_before_switch_use_old_stt_and_exchange_rate() -> None:
    # sell 75 @ 24100 = 1807500
    # STT 0.0125% = 225.9375 -> 225.94 (0.02% after the switch: 361.50)
    # NSE 0.00188% = 33.981 -> 33.98 (0.00173% after: 31.26975 -> 31.27)
    # SEBI 1.8075 -> 1.81; brokerage 20; GST 18% of (20 + 33.98 + 1.81) = 10.0422 -> 10.04
    sell = {
        "segment": Segment.FUTURES,
        "product": Product.NRML,
        "exchange": "NFO",
        "side": Side.SELL,
        "quantity": 75,
        "price": D(24100),
    }
    assert fill_charges(**sell, on=BEFORE_SWITCH) == charges("20", "225.94", "33.98", "1.81", "10.04", "0")
    after = fill_charges(**sell, on=date(2024, 10, 1))
    assert (after.stt, after.exchange) == (D("361.50"), D("31.27"))


def test_options_before_switch_use_old_stt_and_exchange_rate() -> None:
    # sell 75 @ 110 = 8250: STT 0.0625% = 5.15625 -> 5.16; NSE 0.05% = 4.125 -> 4.13
    result = fill_charges(
        segment=Segment.OPTIONS,
        product=Product.NRML,
        exchange="NFO",
        side=Side.SELL,
        quantity=75,
        price=D(110),
        on=BEFORE_SWITCH,
    )
    assert (result.stt, result.exchange) == (D("5.16"), D("4.13"))


def test_fno_stt_raised_from_april_2026() -> None:
    # sell 75 @ 24100 = 1807500: STT 0.05% = 903.75; options 8250 premium: 0.15% = 12.375 -> 12.38
    futures = fill_charges(
        segment=Segment.FUTURES,
        product=Product.NRML,
        exchange="NFO",
        side=Side.SELL,
        quantity=75,
        price=D(24100),
        on=date(2026, 4, 1),
    )
    options = fill_charges(
        segment=Segment.OPTIONS,
        product=Product.NRML,
        exchange="NFO",
        side=Side.SELL,
        quantity=75,
        price=D(110),
        on=date(2026, 4, 1),
    )
    assert (futures.stt, options.stt) == (D("903.75"), D("12.38"))


# --- per fill --------------------------------------------------------------------------------------


def test_delivery_fills_sum_to_the_round_trip() -> None:
    # buy 400000: STT 400.00, NSE 11.88, SEBI 0.40, GST 18% of 12.28 = 2.2104 -> 2.21, stamp 60.00
    # sell 440000: STT 440.00, NSE 13.068 -> 13.07, SEBI 0.44, GST 18% of 13.51 = 2.4318 -> 2.43
    # sums: 840.00, 24.95, 0.84, 4.64, 60.00 -- the round trip's components
    common = {"segment": Segment.EQUITY, "product": Product.CNC, "exchange": "NSE", "quantity": 400}
    buy = fill_charges(**common, side=Side.BUY, price=D(1000), on=AFTER_SWITCH)
    sell = fill_charges(**common, side=Side.SELL, price=D(1100), on=AFTER_SWITCH)
    assert buy == charges("0", "400.00", "11.88", "0.40", "2.21", "60.00")
    assert sell == charges("0", "440.00", "13.07", "0.44", "2.43", "0")
    round_trip = equity_round_trip(Product.CNC)
    for name in Charges.__struct_fields__:
        assert getattr(buy, name) + getattr(sell, name) == getattr(round_trip, name), name


def intraday_buy_fill(quantity: int, paid_so_far: str) -> Decimal:
    return fill_charges(
        segment=Segment.EQUITY,
        product=Product.MIS,
        exchange="NSE",
        side=Side.BUY,
        quantity=quantity,
        price=D(250),
        on=AFTER_SWITCH,
        order_brokerage_so_far=D(paid_so_far),
    ).brokerage


def test_partial_fills_share_one_order_cap() -> None:
    # one order for 300 @ 250 = 75000: 0.03% = 22.50, capped at 20 for the whole order
    # fill 1: 100 @ 250 = 25000 -> 7.50
    # fill 2: 100 more -> 7.50 (15.00 paid)
    # fill 3: 100 more -> 7.50 wanted, only 20 - 15 = 5.00 of the cap left
    # a further fill of the same order pays nothing
    assert intraday_buy_fill(100, "0") == D("7.50")
    assert intraday_buy_fill(100, "7.50") == D("7.50")
    assert intraday_buy_fill(100, "15.00") == D("5.00")
    assert intraday_buy_fill(100, "20.00") == D("0")


def test_options_flat_brokerage_on_first_fill_only() -> None:
    def brokerage(paid_so_far: str) -> Decimal:
        return fill_charges(
            segment=Segment.OPTIONS,
            product=Product.MIS,
            exchange="NFO",
            side=Side.BUY,
            quantity=75,
            price=D(100),
            on=AFTER_SWITCH,
            order_brokerage_so_far=D(paid_so_far),
        ).brokerage

    assert brokerage("0") == D("20")
    assert brokerage("20") == D("0")


def test_sell_fill_pays_no_stamp_and_buy_fill_no_intraday_stt() -> None:
    common = {
        "segment": Segment.EQUITY,
        "product": Product.MIS,
        "exchange": "NSE",
        "quantity": 400,
        "price": D(1000),
        "on": AFTER_SWITCH,
    }
    assert fill_charges(**common, side=Side.SELL).stamp == 0
    assert fill_charges(**common, side=Side.BUY).stt == 0
