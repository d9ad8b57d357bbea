"""Pure Kite helpers: order tags, postback checksums, token expiry, tick conversion, feed chunking."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.instruments import Instrument
from trading.kite.expiry import IST, token_expiry
from trading.kite.feed import FeedError, chunks
from trading.kite.postbacks import postback_checksum, postback_valid
from trading.kite.ticks import to_tick
from trading.traders.zerodha import tag_for

INFY = Instrument(token=408065, symbol="INFY", exchange="NSE")


def test_tag_when_derived_from_an_order_id_then_stable_and_at_most_20_characters():
    order_id = "0f" * 16
    assert tag_for(order_id) == tag_for(order_id) == ("ap" + order_id)[:20]
    assert len(tag_for(order_id)) == 20
    assert tag_for("a" * 32) != tag_for("b" * 32)


def test_postback_checksum_when_computed_then_matches_kites_formula():
    expected = hashlib.sha256(b"2511250001232025-11-25 10:15:00s3cret").hexdigest()
    assert (
        postback_checksum(order_id="251125000123", order_timestamp="2025-11-25 10:15:00", api_secret="s3cret")
        == expected
    )


def test_postback_valid_when_checksum_forged_or_missing_then_false():
    data = {"order_id": "1", "order_timestamp": "2025-11-25 10:15:00"}
    good = dict(
        data, checksum=postback_checksum(order_id="1", order_timestamp="2025-11-25 10:15:00", api_secret="s")
    )
    assert postback_valid(good, api_secret="s")
    assert not postback_valid(good, api_secret="other")
    assert not postback_valid(dict(good, order_timestamp="2025-11-25 10:15:01"), api_secret="s")
    assert not postback_valid(data, api_secret="s")


@pytest.mark.parametrize(
    ("login_ist", "expires_ist"),
    [
        ("2026-11-25 09:10", "2026-11-26 06:00"),
        ("2026-11-25 05:59", "2026-11-25 06:00"),
        ("2026-11-25 06:00", "2026-11-26 06:00"),
        ("2026-11-25 23:59", "2026-11-26 06:00"),
    ],
)
def test_token_expiry_when_logged_in_then_next_0600_ist(login_ist, expires_ist):
    login = datetime.strptime(login_ist, "%Y-%m-%d %H:%M").replace(tzinfo=IST).astimezone(UTC)
    assert token_expiry(login).astimezone(IST).strftime("%Y-%m-%d %H:%M") == expires_ist


def test_to_tick_when_full_mode_then_depth_volume_and_exchange_time_carried():
    stamp = datetime(2026, 11, 25, 9, 15, 1)
    data = {
        "instrument_token": 408065,
        "last_price": 1500.25,
        "volume_traded": 12345,
        "exchange_timestamp": stamp,
        "depth": {
            "buy": [{"price": 1500.2, "quantity": 10, "orders": 2}, {"price": 0, "quantity": 0, "orders": 0}],
            "sell": [{"price": 1500.3, "quantity": 7, "orders": 1}],
        },
    }
    tick = to_tick(data, INFY, received_ns=1)
    assert tick.ltp == Decimal("1500.25") and tick.volume == 12345
    assert [(lvl.price, lvl.quantity) for lvl in tick.bids] == [(Decimal("1500.2"), 10)]
    assert [(lvl.price, lvl.quantity) for lvl in tick.asks] == [(Decimal("1500.3"), 7)]
    assert tick.ts == int(stamp.timestamp() * 1e9)


def test_to_tick_when_ltp_mode_or_no_price_then_minimal_or_none():
    assert to_tick({"instrument_token": 408065, "last_price": 0}, INFY, received_ns=5) is None
    tick = to_tick({"instrument_token": 408065, "last_price": 1501}, INFY, received_ns=5)
    assert (tick.ltp, tick.bids, tick.ts) == (Decimal(1501), (), 5)


def test_chunks_when_many_tokens_then_3000_per_connection_at_most_three():
    assert [len(c) for c in chunks(list(range(1, 7001)))] == [3000, 3000, 1000]
    with pytest.raises(FeedError, match="exceed"):
        chunks(list(range(1, 9002)))
