"""Figures from samples: nearest-rank percentiles (no interpolation hides a slow tail), rates, CDF
points and the saturation rule. Pure: no Django, Kafka or clock, so it is unit-tested on its own."""

from __future__ import annotations

import math
from collections.abc import Sequence

from alphapanda.topics import MARKET_TICKS

SUSTAINED_FRACTION = 0.9  # achieved below this share of the offered load: saturated
BACKLOG_GROWTH = 2.0  # the step's last third took this many times its first third's p50: a backlog
LATENCY_FLOOR_MS = 250.0  # ...but a p50 under this is never called a backlog (10 -> 25 ms is noise)


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
    offered_per_s: float, achieved_per_s: float, early_p50_ms: float | None, late_p50_ms: float | None
) -> bool:
    """Saturated: less than 90% of the offered load got through, or a backlog built up during the step:
    the chains of its last third took over twice as long as those of its first third (p50), and over
    250 ms. A latency that is high but steady is a load kept up with, reported as it is; comparing it
    with the lightest step's instead called a step saturated for being slower than a fast baseline.
    Nothing got through at all counts as saturated."""
    if offered_per_s > 0 and achieved_per_s < SUSTAINED_FRACTION * offered_per_s:
        return True
    if early_p50_ms is None or late_p50_ms is None:
        return offered_per_s > 0
    return late_p50_ms > max(LATENCY_FLOOR_MS, BACKLOG_GROWTH * early_p50_ms)


def thirds_p50_ms(samples: Sequence[tuple[int, int]]) -> tuple[float | None, float | None]:
    """p50 (ms) of the first and of the last third of (event time, latency ns) samples, by event time:
    whether the chains got slower as the step went on. None for a third with no samples."""
    ordered = [latency for _, latency in sorted(samples)]
    third = len(ordered) // 3
    if not third:
        return None, None
    return tuple(round(percentile(sorted(part), 50) / 1e6, 2) for part in (ordered[:third], ordered[-third:]))  # type: ignore[return-value]


def next_tick_rate(target_signals_per_s: float, signals: int, ticks: int, default_per_tick: float) -> float:
    """Ticks a second for the feed to offer `target_signals_per_s`, from the signals each tick has
    produced so far (the strategies decide, so the ratio is measured, not assumed)."""
    per_tick = signals / ticks if ticks and signals else default_per_tick
    return round(target_signals_per_s / per_tick, 1)


def tick_flow(samples: Sequence[dict], start_ns: int, end_ns: int) -> dict | None:
    """The ticks a second a tick step offered (the log's growth), the strategies took in and the
    bridge's tasks marked (each group's committed offsets), from the lag samples taken while its feed
    ran; the first is the first sample with ticks in the log, so the feed's start-up is not counted.
    None with under two such samples."""
    inside = [s for s in samples if start_ns <= s["ns"] <= end_ns]
    flowing = [s for s in inside if s["ticks"] > inside[0]["ticks"]]
    if len(flowing) < 2:
        return None
    first, last = flowing[0], flowing[-1]

    def rate(key: str) -> float:
        return per_second(last[key] - first[key], first["ns"], last["ns"])

    return {
        "first_ns": first["ns"],
        "last_ns": last["ns"],
        "offered_per_s": rate("ticks"),
        "strategies_per_s": rate("strategies_done"),
        "marks_per_s": rate("marks_done"),
        "strategies_lag_at_end": last["strategies_lag"],
        "marks_lag_at_end": last["bridge_lag"][MARKET_TICKS],
    }


def tick_limit(flow: dict | None, requested_per_s: float) -> str | None:
    """What stopped a tick step keeping up, if anything: the feed could not offer 90% of the rate
    asked, or the strategies took in under 90% of what it offered. The marks falling behind is
    reported beside it and does not stop the rise: the strategies are what the step measures."""
    if flow is None or flow["offered_per_s"] < SUSTAINED_FRACTION * requested_per_s:
        return "feed"
    if flow["strategies_per_s"] < SUSTAINED_FRACTION * flow["offered_per_s"]:
        return "strategies"
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to three places; None when either is missing or b is zero."""
    return None if a is None or not b else round(a / b, 3)
