"""Each worker's own account of its tasks over a load step, from its Prometheus histograms: tasks a
second, records a task and milliseconds a task per stage. This is the running pipeline's view of
what `bench.stage_profile` measures in-process: a task's fixed cost against its per-record cost."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

Totals = dict[tuple[str, str], tuple[float, float, float]]  # (broker, stage) -> tasks, records, seconds


def parse(text: str) -> Totals:
    """Per (broker, stage): tasks run, records in them and seconds they took, from the exposition."""
    sizes: dict[tuple[str, str], tuple[float, float]] = {}
    seconds: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.labels.get("broker", ""), sample.labels.get("stage", ""))
            if sample.name == "alphapanda_batch_size_count":
                sizes[key] = (sample.value, sizes.get(key, (0.0, 0.0))[1])
            elif sample.name == "alphapanda_batch_size_sum":
                sizes[key] = (sizes.get(key, (0.0, 0.0))[0], sample.value)
            elif sample.name == "alphapanda_batch_duration_seconds_sum":
                seconds[key] = sample.value
    return {key: (tasks, records, seconds.get(key, 0.0)) for key, (tasks, records) in sizes.items()}


def scrape(ports: Iterable[int]) -> Totals:
    """Every worker's totals, summed per (broker, stage); a worker that does not answer is left out."""
    out: Totals = {}
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                text = reply.read().decode()
        except OSError:
            continue
        for key, (tasks, records, seconds) in parse(text).items():
            t, r, s = out.get(key, (0.0, 0.0, 0.0))
            out[key] = (t + tasks, r + records, s + seconds)
    return out


def between(before: Totals, after: Totals, seconds: float) -> dict[str, dict[str, dict[str, float]]]:
    """broker -> stage -> tasks/s, records a task and ms a task over `seconds` between two scrapes."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (broker, stage), (tasks, records, busy) in sorted(after.items()):
        t0, r0, b0 = before.get((broker, stage), (0.0, 0.0, 0.0))
        tasks, records, busy = tasks - t0, records - r0, busy - b0
        if tasks > 0:
            out.setdefault(broker, {})[stage] = {
                "tasks_per_s": round(tasks / seconds, 1),
                "records_per_task": round(records / tasks, 1),
                "ms_per_task": round(busy / tasks * 1000, 2),
                "busy": round(busy / seconds, 3),  # the share of the window a worker spent on it
            }
    return out
