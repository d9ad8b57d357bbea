"""The bench's reading of the workers' task histograms: per stage, tasks a second, records a task,
milliseconds a task, from two scrapes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench import worker_stats


def _exposition(runs: list[tuple[str, str, int, float]]) -> str:
    """What a worker serves after running `runs` (broker, stage, records, seconds)."""
    registry = CollectorRegistry()
    size = Histogram("alphapanda_batch_size", "", ["broker", "stage"], registry=registry)
    duration = Histogram("alphapanda_batch_duration_seconds", "", ["broker", "stage"], registry=registry)
    for broker, stage, records, seconds in runs:
        size.labels(broker, stage).observe(records)
        duration.labels(broker, stage).observe(seconds)
    return generate_latest(registry).decode()


def test_parse_totals_tasks_records_and_seconds_per_broker_and_stage() -> None:
    text = _exposition([("paper", "riskcheck", 4, 0.010), ("paper", "riskcheck", 6, 0.014),
                        ("zerodha", "trading", 1, 0.2)])  # fmt: skip
    totals = worker_stats.parse(text)
    assert totals[("paper", "riskcheck")] == (2.0, 10.0, 0.024)
    assert totals[("zerodha", "trading")] == (1.0, 1.0, 0.2)


def test_between_two_scrapes_gives_rates_sizes_and_costs_of_the_window_only() -> None:
    before = {("paper", "riskcheck"): (10.0, 40.0, 0.1), ("paper", "ticks"): (5.0, 50.0, 0.05)}
    after = {("paper", "riskcheck"): (30.0, 140.0, 0.3), ("paper", "ticks"): (5.0, 50.0, 0.05)}
    assert worker_stats.between(before, after, seconds=10.0) == {
        "paper": {
            "riskcheck": {"tasks_per_s": 2.0, "records_per_task": 5.0, "ms_per_task": 10.0, "busy": 0.02}
        }
    }
