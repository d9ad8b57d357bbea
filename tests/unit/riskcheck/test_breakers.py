from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskcheck.breakers import DAILY_LOSS, DRAWDOWN, Baseline, Trip, baseline, evaluate, rebase

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


# --- a release re-bases the breakers ------------------------------------------------------------------


def released(equity: int, *, at: int, peak: int | None = None, loss="50000", drawdown="100000"):
    """Judged after an admin released a trip at equity `at` (the peak since then is `peak`)."""
    return evaluate(
        equity=equity,
        start_equity=START,
        peak_equity=at if peak is None else peak,
        released_equity=at,
        max_daily_loss=Decimal(loss),
        max_drawdown=Decimal(drawdown),
    )


def test_a_release_at_a_tripped_equity_does_not_trip_again_at_that_equity():
    at = START - 6_000_000  # ₹60,000 down: past the ₹50,000 limit from the start

    assert check(at) is not None
    assert released(at, at=at) is None


def test_after_a_release_a_fresh_loss_of_the_limit_trips_with_the_release_in_its_cause():
    at = START - 6_000_000

    assert released(at - 4_999_999, at=at) is None
    assert released(at - 5_000_000, at=at) == Trip(
        DAILY_LOSS,
        "loss of ₹50000.00 since the breaker release (equity ₹890000.00 from ₹940000.00 at the release) "
        "reached the daily loss limit of ₹50000.00",
    )


def test_after_a_release_drawdown_is_measured_from_the_peak_since_it_not_the_days():
    at = START - 6_000_000
    old_peak = START + 8_000_000  # forgotten by the release (the service overwrites the stored peak)

    assert released(at, at=at, peak=at) is None
    assert released(at + 1_000_000, at=at, peak=at + 4_000_000, drawdown="30000") == Trip(
        DRAWDOWN,
        "drawdown of ₹30000.00 (equity ₹950000.00 from the peak since the breaker release of ₹980000.00) "
        "reached the drawdown limit of ₹30000.00",
    )
    assert released(at, at=at, peak=old_peak - 20_000_000) is None  # a stale peak below the base: floored


def test_baseline_and_rebase():
    assert baseline(start_equity=START, peak_equity=None) == Baseline(START, START, released=False)
    assert baseline(start_equity=START, peak_equity=START - 1) == Baseline(START, START, released=False)
    assert baseline(start_equity=START, peak_equity=START + 5, released_equity=START - 9) == Baseline(
        START - 9, START + 5, released=True
    )
    assert rebase(equity=START - 9) == Baseline(START - 9, START - 9, released=True)


paise = st.integers(min_value=0, max_value=10**13)
limits = st.integers(min_value=1, max_value=10**9).map(lambda p: Decimal(p) / 100)  # ₹0.01 up


def after_release(equity: int, *, start: int, peak: int, at: int, loss: Decimal, drawdown: Decimal):
    return evaluate(
        equity=equity,
        start_equity=start,
        peak_equity=peak,
        released_equity=at,
        max_daily_loss=loss,
        max_drawdown=drawdown,
    )


@given(start=paise, at=paise, loss=limits, drawdown=limits)
def test_property_a_release_never_trips_at_the_equity_it_was_released_at(start, at, loss, drawdown):
    base = rebase(equity=at)
    trip = after_release(at, start=start, peak=base.peak, at=base.loss_base, loss=loss, drawdown=drawdown)
    assert trip is None


@given(
    start=paise,
    at=st.integers(min_value=10**9, max_value=10**13),
    loss=limits,
    drawdown=limits,
    falls=st.lists(st.integers(min_value=0, max_value=10**11), max_size=30),
)
def test_property_after_a_release_at_e_no_trip_while_equity_stays_above_e_minus_the_limit(
    start, at, loss, drawdown, falls
):
    """A path that never rises over E (so the peak stays E) and never falls to E - limit never trips."""
    room = int(min(loss, drawdown) * 100)  # paise: a fall of this much would trip
    peak = at
    for fall in falls:
        equity = at - fall % room  # 0 to room - 1 below the release
        peak = max(peak, equity)
        assert after_release(equity, start=start, peak=peak, at=at, loss=loss, drawdown=drawdown) is None


@given(
    start=paise,
    at=st.integers(min_value=10**9, max_value=10**13),
    loss=limits,
    rise=st.integers(min_value=0, max_value=10**8),
    extra=st.integers(min_value=0, max_value=10**8),
)
def test_property_after_a_release_a_fresh_loss_of_the_limit_always_trips(start, at, loss, rise, extra):
    """Whatever the day did before, and whatever rise came after the release, a loss of the daily limit
    from the release trips the daily loss breaker."""
    equity = at - int(loss * 100) - extra
    trip = after_release(equity, start=start, peak=at + rise, at=at, loss=loss, drawdown=Decimal("1e12"))
    assert trip is not None and trip.kind == DAILY_LOSS


@given(start=paise, at=paise, rise=paise, equity=paise, loss=limits, drawdown=limits)
def test_property_after_a_release_the_days_start_no_longer_matters(start, at, rise, equity, loss, drawdown):
    def judged(start_equity: int):
        return after_release(equity, start=start_equity, peak=at + rise, at=at, loss=loss, drawdown=drawdown)

    assert judged(start) == judged(START)
