from __future__ import annotations

import itertools
import math
import re
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphapanda.events import Level, Tick
from trading.feeds.csv_replay import paced, parse_ts, read_ticks, write_ticks
from trading.feeds.sim import DEPTH, RandomWalkFeed, frame_sizes
from trading.instruments import SHIPPED_INSTRUMENTS, Instrument, load_csv

SHIPPED = load_csv()
BY_TOKEN = {i.token: i for i in SHIPPED}
RELIANCE, INFY = BY_TOKEN[738561], BY_TOKEN[408065]
NIFTY = BY_TOKEN[256265]
PENNY = Instrument(
    token=1, symbol="PENNY", exchange="NSE", tick_size=Decimal("0.01"), last_price=Decimal("0.03")
)
SAMPLE = SHIPPED_INSTRUMENTS.parent / "sample_ticks.csv"
HEADER = "ts,instrument_token,ltp,volume,bid,bid_qty,ask,ask_qty\n"


def walk(seed: int, count: int = 300, instruments: list[Instrument] | None = None) -> list[Tick]:
    feed = RandomWalkFeed(instruments or [RELIANCE, INFY, NIFTY], seed=seed)
    return [feed.next_tick(1_736_135_100_000_000_000 + n * 250_000_000) for n in range(count)]


def test_the_same_seed_gives_byte_identical_ticks_and_another_seed_does_not() -> None:
    assert msgspec.json.encode(walk(7)) == msgspec.json.encode(walk(7))
    assert walk(7) != walk(8)


def test_prices_stay_on_the_tick_grid_with_a_five_level_book_around_the_ltp() -> None:
    for tick in walk(1, count=900):
        instrument = BY_TOKEN[tick.instrument_token]
        prices = [tick.ltp, *(level.price for level in tick.bids + tick.asks)]
        assert all(price % instrument.tick_size == 0 for price in prices)
        if instrument is NIFTY:
            assert (tick.bids, tick.asks, tick.volume) == ((), (), 0)
            continue
        assert len(tick.bids) == len(tick.asks) == DEPTH
        assert tick.best_bid is not None and tick.best_ask is not None
        assert tick.best_bid <= tick.ltp <= tick.best_ask
        assert tick.best_ask - tick.best_bid == instrument.tick_size
        assert [b.price for b in tick.bids] == sorted((b.price for b in tick.bids), reverse=True)
        assert [a.price for a in tick.asks] == sorted(a.price for a in tick.asks)
        assert all(level.quantity >= level.orders > 0 for level in tick.bids + tick.asks)


def test_the_walk_moves_and_volume_only_grows() -> None:
    ticks = walk(3)
    reliance = [t for t in ticks if t.instrument_token == RELIANCE.token]
    assert len({t.ltp for t in reliance}) > 10
    volumes = [t.volume for t in reliance]
    assert volumes == sorted(volumes) and volumes[0] > 0


def test_a_price_near_zero_never_goes_below_one_tick() -> None:
    feed = RandomWalkFeed([PENNY], seed=5, volatility_bps=5_000)
    for n in range(500):
        tick = feed.next_tick(n)
        assert tick.ltp >= PENNY.tick_size
        assert all(level.price > 0 for level in tick.bids)
        assert tick.best_bid is not None and tick.best_ask is not None and tick.best_bid < tick.best_ask


def test_the_feed_needs_instruments_with_a_starting_price() -> None:
    with pytest.raises(ValueError, match="at least one instrument"):
        RandomWalkFeed([], seed=1)
    with pytest.raises(ValueError, match="PENNY needs a positive last_price"):
        RandomWalkFeed([Instrument(token=1, symbol="PENNY", exchange="NSE")], seed=1)


@given(
    rate=st.floats(min_value=0.1, max_value=50_000),
    frame_ms=st.floats(min_value=1, max_value=1_000),
    frames=st.integers(min_value=1, max_value=500),
)
def test_frames_carry_the_rate_to_within_one_tick_however_long_the_run(
    rate: float, frame_ms: float, frames: int
) -> None:
    sizes = list(itertools.islice(frame_sizes(rate, frame_ms / 1000), frames))
    assert all(size >= 0 for size in sizes)
    assert abs(sum(sizes) - rate * frame_ms / 1000 * frames) < 1 + 1e-6


def test_frames_at_400_ticks_a_second_every_50_ms_carry_20_each() -> None:
    assert list(itertools.islice(frame_sizes(400, 0.05), 3)) == [20, 20, 20]


@pytest.mark.parametrize(("rate", "frame_s"), [(0, 0.05), (-1, 0.05), (10, 0), (math.nan, 0.05)])
def test_frames_need_a_positive_rate_and_length(rate: float, frame_s: float) -> None:
    with pytest.raises(ValueError, match="positive rate and frame length"):
        next(frame_sizes(rate, frame_s))


def test_write_then_read_round_trips_one_level_ticks_exactly(tmp_path: Path) -> None:
    ticks = [
        Tick(
            instrument_token=RELIANCE.token,
            symbol="RELIANCE",
            exchange="NSE",
            ltp=Decimal("1485.60"),
            volume=120,
            bids=(Level(Decimal("1485.55"), 40),),
            asks=(Level(Decimal("1485.60"), 15),),
            ts=1_736_135_100_123_456_789,
        ),
        Tick(instrument_token=NIFTY.token, symbol="NIFTY 50", exchange="NSE", ltp=Decimal("25960.5"), ts=0),
    ]
    path = tmp_path / "ticks.csv"
    assert write_ticks(path, ticks) == 2
    assert list(read_ticks(path, BY_TOKEN)) == ticks


def top_of_book(tick: Tick) -> Tick:
    """What a recording keeps of a tick: the best level of each side, without order counts."""
    bids = tuple(Level(level.price, level.quantity) for level in tick.bids[:1])
    asks = tuple(Level(level.price, level.quantity) for level in tick.asks[:1])
    return msgspec.structs.replace(tick, bids=bids, asks=asks)


def test_a_sim_recording_replays_as_its_top_of_book(tmp_path: Path) -> None:
    recorded = walk(11, count=50)
    path = tmp_path / "sim.csv"
    write_ticks(path, recorded)
    assert list(read_ticks(path, BY_TOKEN)) == [top_of_book(t) for t in recorded]


def test_the_shipped_sample_replays_against_the_shipped_instruments() -> None:
    ticks = list(read_ticks(SAMPLE, BY_TOKEN))
    assert len(ticks) >= 200
    assert len({t.instrument_token for t in ticks}) == 5
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)


def test_timestamps_may_be_epoch_seconds_or_iso_with_an_offset() -> None:
    assert parse_ts("1736135100.25") == 1_736_135_100_250_000_000
    assert parse_ts("1736135100") == 1_736_135_100_000_000_000
    assert parse_ts("2025-01-06T09:15:00.25+05:30") == 1_736_135_100_250_000_000
    assert parse_ts("2025-01-06T03:45:00Z") == 1_736_135_100_000_000_000
    with pytest.raises(ValueError, match="no timezone offset"):
        parse_ts("2025-01-06T09:15:00")
    with pytest.raises(ValueError, match="neither epoch seconds nor ISO-8601"):
        parse_ts("yesterday")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1.0,999,100,0,,,,", "unknown instrument_token 999"),
        ("1.0,738561,abc,0,,,,", "ltp 'abc' is not a number"),
        ("1.0,738561,0,0,,,,", "ltp 0 is not a possible price"),
        ("1.0,738561,100,-5,,,,", "volume -5 is negative"),
        ("1.0,738561,100,5,99.95,x,,", "bid_qty 'x' is not a whole number"),
        ("soon,738561,100,5,,,,", "ts 'soon' is neither"),
        ("1.0,738561,100", "expected 8 fields, got 3"),
    ],
)
def test_a_bad_line_is_reported_with_its_line_number(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "1.0,738561,100,5,99.95,10,100,3\n" + line + "\n")
    with pytest.raises(ValueError, match=re.escape(f"bad.csv:3: {message}")):
        list(read_ticks(path, BY_TOKEN))


def test_a_wrong_header_is_reported_on_line_one(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,token,price\n")
    with pytest.raises(ValueError, match=r"bad\.csv:1: the header must be ts,instrument_token"):
        list(read_ticks(path, BY_TOKEN))


def at(*seconds: float) -> list[Tick]:
    return [
        Tick(instrument_token=1, symbol="X", exchange="NSE", ltp=Decimal(1), ts=int(s * 1e9)) for s in seconds
    ]


@pytest.mark.parametrize(
    ("speed", "delays"),
    [
        (1.0, [0.0, 1.0, 0.5, 0.0, 2.0]),
        (2.0, [0.0, 0.5, 0.25, 0.0, 1.0]),
        (0.5, [0.0, 2.0, 1.0, 0.0, 4.0]),
        (0.0, [0.0] * 5),
        (math.inf, [0.0] * 5),
    ],
)
def test_paced_waits_the_recorded_gap_divided_by_speed(speed: float, delays: list[float]) -> None:
    ticks = at(10, 11, 11.5, 11.2, 13.2)  # 11.2 steps back in time: no wait
    paced_ticks = list(paced(ticks, speed=speed))
    assert [tick for _, tick in paced_ticks] == ticks
    assert [delay for delay, _ in paced_ticks] == pytest.approx(delays)


def test_paced_refuses_a_negative_speed() -> None:
    with pytest.raises(ValueError, match="speed must be >= 0"):
        list(paced(at(1), speed=-1))
