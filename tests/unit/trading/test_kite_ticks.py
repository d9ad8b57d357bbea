"""The sandbox's tick encoder against kiteconnect's own parser: what we send is what the client reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from kiteconnect import KiteTicker

from trading.kite_sandbox import ticks

D = Decimal
PARSER = KiteTicker("api-key", "access-token")  # constructing does not connect
EPOCH = 1_767_000_000


def token(exchange_token: int, segment: int) -> int:
    return exchange_token << 8 | segment


def parse(data: bytes) -> list[dict]:
    return PARSER._parse_binary(data)


def levels(start: str, step: str) -> tuple[ticks.DepthLevel, ...]:
    return tuple(ticks.DepthLevel(D(start) + i * D(step), 10 * (i + 1), i + 1) for i in range(5))


def tick_data(instrument_token: int, **prices: Decimal) -> ticks.TickData:
    base = {"last_price": D("1500.25"), "open": D("1490"), "high": D("1510.5"), "low": D("1488.05")}
    return ticks.TickData(
        instrument_token=instrument_token,
        close=D("1495"),
        last_traded_quantity=7,
        average_traded_price=D("1499.9"),
        volume_traded=123_456,
        total_buy_quantity=5_000,
        total_sell_quantity=6_000,
        last_trade_time=EPOCH - 3,
        oi=11,
        oi_day_high=12,
        oi_day_low=9,
        exchange_timestamp=EPOCH,
        buy=levels("1500.20", "-0.05"),
        sell=levels("1500.30", "0.05"),
        **(base | prices),
    )


INFY = token(1594, 1)


def test_ltp_packet_is_8_bytes_and_round_trips() -> None:
    packet = ticks.packet(tick_data(INFY), ticks.MODE_LTP)
    assert len(packet) == 8
    assert parse(ticks.frame([packet])) == [
        {"tradable": True, "mode": "ltp", "instrument_token": INFY, "last_price": 1500.25}
    ]


def test_quote_packet_is_44_bytes_and_round_trips() -> None:
    packet = ticks.packet(tick_data(INFY), ticks.MODE_QUOTE)
    assert len(packet) == 44
    (parsed,) = parse(ticks.frame([packet]))
    assert parsed["mode"] == "quote"
    assert parsed["last_price"] == 1500.25
    assert parsed["last_traded_quantity"] == 7
    assert parsed["average_traded_price"] == 1499.9
    assert parsed["volume_traded"] == 123_456
    assert (parsed["total_buy_quantity"], parsed["total_sell_quantity"]) == (5_000, 6_000)
    assert parsed["ohlc"] == {"open": 1490.0, "high": 1510.5, "low": 1488.05, "close": 1495.0}
    assert parsed["change"] == pytest.approx((1500.25 - 1495) * 100 / 1495)
    assert "depth" not in parsed


def test_full_packet_is_184_bytes_with_five_levels_a_side() -> None:
    packet = ticks.packet(tick_data(INFY), ticks.MODE_FULL)
    assert len(packet) == 184
    (parsed,) = parse(ticks.frame([packet]))
    assert parsed["mode"] == "full"
    assert parsed["last_trade_time"] == datetime.fromtimestamp(EPOCH - 3)
    assert parsed["exchange_timestamp"] == datetime.fromtimestamp(EPOCH)
    assert (parsed["oi"], parsed["oi_day_high"], parsed["oi_day_low"]) == (11, 12, 9)
    assert parsed["depth"]["buy"][0] == {"quantity": 10, "price": 1500.2, "orders": 1}
    assert parsed["depth"]["buy"][4] == {"quantity": 50, "price": 1500.0, "orders": 5}
    assert [level["price"] for level in parsed["depth"]["sell"]] == [1500.3, 1500.35, 1500.4, 1500.45, 1500.5]


def test_a_short_book_is_padded_with_zero_levels() -> None:
    thin = ticks.TickData(instrument_token=INFY, last_price=D(100), buy=levels("99.95", "-0.05")[:2])
    (parsed,) = parse(ticks.frame([ticks.packet(thin, ticks.MODE_FULL)]))
    assert len(parsed["depth"]["buy"]) == len(parsed["depth"]["sell"]) == 5
    assert parsed["depth"]["buy"][2:] == [{"quantity": 0, "price": 0.0, "orders": 0}] * 3
    assert parsed["depth"]["sell"] == [{"quantity": 0, "price": 0.0, "orders": 0}] * 5


@pytest.mark.parametrize(("mode", "size", "parsed_mode"), [("quote", 28, "quote"), ("full", 32, "full")])
def test_index_packets_are_28_or_32_bytes_and_not_tradable(mode: str, size: int, parsed_mode: str) -> None:
    nifty = 256265  # NIFTY 50: segment 9
    index = ticks.TickData(
        instrument_token=nifty,
        last_price=D("23450.35"),
        open=D("23500"),
        high=D("23510.5"),
        low=D("23400.05"),
        close=D("23480"),
        exchange_timestamp=EPOCH,
    )
    packet = ticks.packet(index, mode)
    assert len(packet) == size
    (parsed,) = parse(ticks.frame([packet]))
    assert parsed["tradable"] is False
    assert parsed["mode"] == parsed_mode
    assert parsed["last_price"] == 23450.35
    assert parsed["ohlc"] == {"high": 23510.5, "low": 23400.05, "open": 23500.0, "close": 23480.0}
    assert parsed.get("exchange_timestamp") == (datetime.fromtimestamp(EPOCH) if size == 32 else None)


def test_an_index_in_ltp_mode_is_an_ltp_packet() -> None:
    index = ticks.TickData(instrument_token=256265, last_price=D("23450.35"))
    assert parse(ticks.frame([ticks.packet(index, ticks.MODE_LTP)])) == [
        {"tradable": False, "mode": "ltp", "instrument_token": 256265, "last_price": 23450.35}
    ]


@pytest.mark.parametrize(
    ("segment", "price", "divisor"),
    [
        (1, "1500.25", 100),  # NSE
        (2, "23450.10", 100),  # NFO
        (3, "83.1234567", 10_000_000),  # CDS
        (4, "1500.25", 100),  # BSE
        (6, "83.1234", 10_000),  # BCD
        (7, "6123.50", 100),  # MCX
        (12, "4321.1234", 10_000),  # NCO
    ],
)
def test_prices_scale_by_the_segment_divisor(segment: int, price: str, divisor: int) -> None:
    instrument = token(777, segment)
    assert ticks.divisor(instrument) == divisor
    at = D(price)  # one price everywhere: a currency pair's 83 would not fit an equity's 1500 in u32 x 1e7
    data = ticks.TickData(
        instrument_token=instrument,
        last_price=at,
        open=at,
        high=at,
        low=at,
        close=at,
        average_traded_price=at,
        buy=(ticks.DepthLevel(at, 1, 1),),
        sell=(ticks.DepthLevel(at, 2, 1),),
    )
    for mode in ticks.MODES:
        (parsed,) = parse(ticks.frame([ticks.packet(data, mode)]))
        assert parsed["last_price"] == float(at), mode
        assert parsed["tradable"] is True
        if mode != ticks.MODE_LTP:
            assert parsed["ohlc"]["close"] == parsed["average_traded_price"] == float(at)
        if mode == ticks.MODE_FULL:
            assert parsed["depth"]["sell"][0] == {"quantity": 2, "price": float(at), "orders": 1}


def test_one_frame_carries_packets_of_every_size_in_order() -> None:
    packets = [
        ticks.packet(tick_data(INFY), ticks.MODE_FULL),
        ticks.packet(tick_data(token(1, 3), last_price=D("83.5")), ticks.MODE_LTP),
        ticks.packet(ticks.TickData(instrument_token=256265, last_price=D(1)), ticks.MODE_QUOTE),
        ticks.packet(tick_data(INFY), ticks.MODE_QUOTE),
    ]
    parsed = parse(ticks.frame(packets))
    assert [(p["instrument_token"], p["mode"]) for p in parsed] == [
        (INFY, "full"),
        (token(1, 3), "ltp"),
        (256265, "quote"),
        (INFY, "quote"),
    ]


def test_the_heartbeat_is_one_byte_and_parses_to_nothing() -> None:
    assert ticks.HEARTBEAT == b"\x00"
    assert parse(ticks.HEARTBEAT) == []
    assert parse(ticks.frame([])) == []


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        ticks.packet(tick_data(INFY), "snap")
