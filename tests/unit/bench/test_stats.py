"""The bench's pure figures: nearest-rank percentiles, CDF points, the saturation rule, the feed rate."""

from __future__ import annotations

import pytest

from bench import stats

MS = 1_000_000


def test_percentile_when_nearest_rank_then_no_interpolation() -> None:
    ordered = list(range(1, 101))
    assert stats.percentile(ordered, 50) == 50
    assert stats.percentile(ordered, 99) == 99
    assert stats.percentile(ordered, 100) == 100
    assert stats.percentile([7], 99) == 7


def test_latency_ms_when_samples_then_ms_and_count() -> None:
    figures = stats.latency_ms([3 * MS, 1 * MS, 2 * MS, 100 * MS])
    assert figures == {"n": 4, "p50": 2.0, "p95": 100.0, "p99": 100.0, "max": 100.0}


def test_latency_ms_when_no_samples_then_none_not_nan() -> None:
    assert stats.latency_ms([]) == {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}


def test_per_second_when_same_instant_then_no_division_by_zero() -> None:
    assert stats.per_second(10, 0, 2_000_000_000) == 5.0
    assert stats.per_second(1, 5, 5) == 1e9


def test_cdf_points_when_many_samples_then_rising_and_ending_at_max() -> None:
    samples = [n * MS for n in range(1000, 0, -1)]
    points = stats.cdf_points(samples, points=10)
    assert len(points) == 10
    assert points[-1] == (1000.0, 1.0)
    assert points[0] == (100.0, 0.1)
    assert [ms for ms, _ in points] == sorted(ms for ms, _ in points)


def test_cdf_points_when_fewer_samples_than_points_then_one_point_each() -> None:
    assert stats.cdf_points([2 * MS, 1 * MS], points=100) == [(1.0, 0.5), (2.0, 1.0)]
    assert stats.cdf_points([]) == []


@pytest.mark.parametrize(
    ("offered", "achieved", "early", "late", "saturated"),
    [
        (100, 99, 40.0, 45.0, False),  # kept up, latency steady
        (100, 89, 40.0, 45.0, True),  # under 90% got through
        (100, 100, 100.0, 600.0, True),  # a backlog built: six times slower by the end, past 250 ms
        (100, 100, 20.0, 200.0, False),  # ten times, but a 200 ms p50 is not a backlog
        (100, 100, 1_300.0, 1_400.0, False),  # slow but steady: kept up with
        (100, 0, None, None, True),  # nothing got through
        (0, 0, None, None, False),  # nothing offered
    ],
)
def test_is_saturated(
    offered: float, achieved: float, early: float | None, late: float | None, saturated: bool
) -> None:
    assert stats.is_saturated(offered, achieved, early, late) is saturated


def test_thirds_p50_orders_by_event_time_and_takes_each_end() -> None:
    samples = [(t, (10 if t < 3 else 50 if t < 6 else 400) * MS) for t in (8, 0, 4, 2, 7, 1, 5, 3, 6)]
    assert stats.thirds_p50_ms(samples) == (10.0, 400.0)
    assert stats.thirds_p50_ms([(0, MS), (1, MS)]) == (None, None)  # too few for thirds


def test_next_tick_rate_when_measured_then_measured_ratio_else_default() -> None:
    assert stats.next_tick_rate(100, signals=250, ticks=1000, default_per_tick=0.5) == 400.0
    assert stats.next_tick_rate(100, signals=0, ticks=0, default_per_tick=0.5) == 200.0


def test_ratio_when_missing_or_zero_then_none() -> None:
    assert stats.ratio(50, 200) == 0.25
    assert stats.ratio(None, 200) is None
    assert stats.ratio(50, 0) is None


def _sample(second: int, ticks: int, strategies: int, marks: int) -> dict:
    return {"ns": second * 1_000_000_000, "ticks": ticks, "strategies_done": strategies, "marks_done": marks,
            "strategies_lag": ticks - strategies, "bridge_lag": {"market.ticks": ticks - marks, "paper.signals.raw": 7}}  # fmt: skip


def test_tick_flow_when_feed_starts_late_then_rates_from_first_ticks_not_window_start() -> None:
    samples = [_sample(0, 100, 100, 100), _sample(1, 100, 100, 100), _sample(2, 100, 100, 100)]
    samples += [
        _sample(3 + n, 100 + 1000 * (n + 1), 100 + 1000 * (n + 1), 100 + 500 * (n + 1)) for n in range(4)
    ]
    flow = stats.tick_flow(samples, 0, 6_000_000_000)
    assert flow is not None
    assert (flow["offered_per_s"], flow["strategies_per_s"], flow["marks_per_s"]) == (1000.0, 1000.0, 500.0)
    assert (flow["strategies_lag_at_end"], flow["marks_lag_at_end"]) == (0, 2000)
    assert stats.tick_limit(flow, 1000) is None  # the marks behind do not stop the rise


def test_tick_flow_when_outside_window_or_no_ticks_then_none() -> None:
    samples = [_sample(n, 100, 100, 100) for n in range(5)]
    assert stats.tick_flow(samples, 0, 5_000_000_000) is None
    assert stats.tick_limit(None, 1000) == "feed"
    grow = [_sample(n, 1000 * n, 1000 * n, 1000 * n) for n in range(5)]
    assert stats.tick_flow(grow, 10_000_000_000, 20_000_000_000) is None


@pytest.mark.parametrize(
    ("offered", "taken", "limit"),
    [(1000, 1000, None), (1000, 950, None), (1000, 800, "strategies"), (850, 850, "feed")],
)
def test_tick_limit_when_short_of_ninety_percent_then_names_who(
    offered: int, taken: int, limit: str | None
) -> None:
    samples = [_sample(0, 0, 0, 0), _sample(1, 1, 1, 1), _sample(11, 1 + 10 * offered, 1 + 10 * taken, 1)]
    assert stats.tick_limit(stats.tick_flow(samples, 0, 11_000_000_000), 1000) == limit
