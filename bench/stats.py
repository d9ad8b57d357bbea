"""Figures from samples: nearest-rank percentiles (no interpolation hides a slow tail) and rates."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(ordered: Sequence[int], q: float) -> int:
    """The nearest-rank q-th percentile (0 < q <= 100) of already sorted values."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50, p95, p99 and max in milliseconds."""
    ordered = sorted(samples_ns)
    figures = {f"p{q}": percentile(ordered, q) for q in (50, 95, 99)} | {"max": ordered[-1]}
    return {name: round(ns / 1e6, 2) for name, ns in figures.items()}


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
