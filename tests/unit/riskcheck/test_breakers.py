from __future__ import annotations

from decimal import Decimal

import pytest

from riskcheck.breakers import DAILY_LOSS, DRAWDOWN, Trip, evaluate

START = 100_000_000  # ₹10,00,000.00 in paise


def check(equity: int, *, start: int = START, peak: int | None = None, loss="50000", drawdown="100000"):
    return evaluate(
        equity=equity,
        start_equity=start,
        peak_equity=start if peak is None else peak,
        max_daily_loss=Decimal(loss),
        max_drawdown=Decimal(drawdown),
    )


def test_no_trip_when_neither_limit_is_reached():
    assert check(START) is None
    assert check(START - 4_999_999) is None  # ₹49,999.99 lost: a paisa short of the limit
    assert check(START + 10_000_000) is None  # a gain


@pytest.mark.parametrize("lost", [5_000_000, 5_000_001, 20_000_000])
def test_daily_loss_trips_at_and_over_its_limit(lost):
    trip = check(START - lost, drawdown="1000000")

    assert trip is not None and trip.kind == DAILY_LOSS


def test_daily_loss_cause_has_the_numbers():
    assert check(START - 5_000_000) == Trip(
        DAILY_LOSS,
        "day loss of ₹50000.00 (equity ₹950000.00 from a start of ₹1000000.00) reached the daily loss "
        "limit of ₹50000.00",
    )


@pytest.mark.parametrize("below_peak", [3_000_000, 3_000_001])
def test_drawdown_trips_at_and_over_its_limit(below_peak):
    peak = START + 5_000_000
    trip = check(peak - below_peak, peak=peak, drawdown="30000")

    assert trip is not None and trip.kind == DRAWDOWN


def test_drawdown_is_measured_from_the_peak_not_the_start():
    peak = START + 8_000_000  # up ₹80,000 on the day
    equity = START + 1_000_000  # still ₹10,000 up on the start, but ₹70,000 below the peak

    assert check(equity, peak=peak, drawdown="70000") == Trip(
        DRAWDOWN,
        "drawdown of ₹70000.00 (equity ₹1010000.00 from the day's peak of ₹1080000.00) reached the "
        "drawdown limit of ₹70000.00",
    )
    assert check(equity, peak=peak, drawdown="70000.01") is None
    assert check(equity, peak=START, drawdown="1") is None  # from the start it is a gain


def test_the_daily_loss_is_reported_first_when_both_trip():
    trip = check(START - 6_000_000, peak=START + 6_000_000, drawdown="100000")

    assert trip is not None and trip.kind == DAILY_LOSS
