"""Figures from samples: nearest-rank percentiles (no interpolation hides a slow tail), rates, CDF
points and the saturation rule. Pure: no Django, Kafka or clock, so it is unit-tested on its own."""

from __future__ import annotations

import math
from collections.abc import Sequence

SUSTAINED_FRACTION = 0.9  # achieved below this share of the offered load: saturated
LATENCY_GROWTH_LIMIT = 10.0  # p99 this many times the lightest step's: latency has exploded
LATENCY_FLOOR_MS = 250.0  # ...but a p99 under this is never called exploded (a 2 ms -> 25 ms p99 is fine)


def percentile(ordered: Sequence[int], q: float) -> int:
    """The nearest-rank q-th percentile (0 < q <= 100) of already sorted values."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_ms(samples_ns: Sequence[int]) -> dict[str, float | int | None]:
    """p50, p95, p99 and max in milliseconds, and the sample count; None when there are no samples."""
    if not samples_ns:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples_ns)
    figures = {f"p{q}": percentile(ordered, q) for q in (50, 95, 99)} | {"max": ordered[-1]}
    return {"n": len(ordered)} | {name: round(ns / 1e6, 2) for name, ns in figures.items()}


def per_second(count: int, start_ns: int, end_ns: int) -> float:
    return round(count / max(end_ns - start_ns, 1) * 1e9, 1)


def run_figures(
    count: int, start_ns: int, end_ns: int, samples_ns: Sequence[int], offered: float | None
) -> dict[str, object]:
    """One run's record: how many, at what offered load, what got through per second, how late."""
    return {
        "messages": count,
        "offered_per_s": offered,
        "per_s": per_second(count, start_ns, end_ns),
        "latency_ms": latency_ms(samples_ns),
    }


def cdf_points(samples_ns: Sequence[int], points: int = 100) -> list[tuple[float, float]]:
    """(latency ms, fraction at or below) at `points` evenly spaced ranks, ending with the max:
    enough to draw the curve, small enough to keep in the results file."""
    if not samples_ns:
        return []
    ordered = sorted(samples_ns)
    n = len(ordered)
    ranks = sorted({max(1, round(n * k / points)) for k in range(1, points + 1)})
    return [(round(ordered[r - 1] / 1e6, 3), round(r / n, 4)) for r in ranks]


def is_saturated(
    offered_per_s: float, achieved_per_s: float, p99_ms: float | None, baseline_p99_ms: float | None
) -> bool:
    """Saturated: less than 90% of the offered load got through, or p99 exploded against the lightest
    step (10x, and past 250 ms). No p99 at all (nothing got through) counts as saturated."""
    if offered_per_s > 0 and achieved_per_s < SUSTAINED_FRACTION * offered_per_s:
        return True
    if p99_ms is None:
        return offered_per_s > 0
    return p99_ms > max(LATENCY_FLOOR_MS, LATENCY_GROWTH_LIMIT * (baseline_p99_ms or p99_ms))


def next_tick_rate(target_signals_per_s: float, signals: int, ticks: int, default_per_tick: float) -> float:
    """Ticks a second for the feed to offer `target_signals_per_s`, from the signals each tick has
    produced so far (the strategies decide, so the ratio is measured, not assumed)."""
    per_tick = signals / ticks if ticks and signals else default_per_tick
    return round(target_signals_per_s / per_tick, 1)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to three places; None when either is missing or b is zero."""
    return None if a is None or not b else round(a / b, 3)
