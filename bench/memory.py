"""Each process's resident memory and CPU time over a run, sampled with psutil: a leak shows as a
rising RSS line, and the cores a process uses during a load step over its messages/s is its cost
per message. CPU counts the process's children too (PostgreSQL does its work in backends)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

import psutil

from bench.load import Periodic

SAMPLE_EVERY_S = 1.0
SETTLE_S = 10.0  # a process's imports, Django set-up and first connections: start-up, not growth


class ProcessSampler(Periodic):
    """(seconds since start, RSS MB, CPU s) of every process `pids()` names, every few seconds."""

    def __init__(self, pids: Callable[[], dict[str, int]], every: float = SAMPLE_EVERY_S) -> None:
        super().__init__("process sampler", every)
        self.pids = pids
        self.started = time.time()
        self.series: dict[str, list[tuple[float, float, float]]] = {}
        self.births: dict[str, list[float]] = {}  # when each process of a name was first sampled
        self._pids: dict[str, int] = {}

    def sample(self) -> None:
        at = round(time.time() - self.started, 2)
        for name, pid in self.pids().items():
            try:
                proc = psutil.Process(pid)
                rss, cpu = proc.memory_info().rss, _tree_cpu(proc)
            except psutil.Error:  # stopped between listing and reading: no sample
                continue
            if self._pids.get(name) != pid:  # a new process under this name (a load step's feed)
                self._pids[name] = pid
                self.births.setdefault(name, []).append(at)
            self.series.setdefault(name, []).append((at, round(rss / 2**20, 1), round(cpu, 2)))

    def cores(self, start_ns: int, end_ns: int) -> dict[str, float]:
        """CPU seconds a second each process used, between the first and last samples in the window."""
        start, end = start_ns / 1e9 - self.started, end_ns / 1e9 - self.started
        used = {}
        for name, points in self.series.items():
            times = [t for t, _, _ in points]
            first, last = bisect.bisect_left(times, start), bisect.bisect_right(times, end) - 1
            if last > first:
                used[name] = round((points[last][2] - points[first][2]) / (times[last] - times[first]), 3)
        return used

    def growth(self, start_ns: int, end_ns: int) -> dict[str, float]:
        """RSS MB each process gained between the first and last samples in the window (a soak's).

        Growth since a process started would count its imports and warm-up, not a leak: a process
        born in the window (the soak's own feed) is measured from `SETTLE_S` after its birth."""
        start, end = start_ns / 1e9 - self.started, end_ns / 1e9 - self.started
        grown = {}
        for name, points in self.series.items():
            born = [b for b in self.births.get(name, ()) if b <= end]
            since = max(start, born[-1] + SETTLE_S) if born else start
            inside = [mb for t, mb, _ in points if since <= t <= end]
            if len(inside) > 1:
                grown[name] = round(inside[-1] - inside[0], 1)
        return grown

    def rss_series(self) -> dict[str, list[tuple[float, float]]]:
        return {name: [(t, mb) for t, mb, _ in points] for name, points in self.series.items()}

    def summary(self) -> dict[str, dict[str, float]]:
        """First, peak and last RSS MB per process, and the growth from the first sample to the last."""
        return {
            name: {
                "first_mb": points[0][1],
                "peak_mb": max(mb for _, mb, _ in points),
                "last_mb": points[-1][1],
                "growth_mb": round(points[-1][1] - points[0][1], 1),
            }
            for name, points in self.series.items()
        }


def _tree_cpu(proc: psutil.Process) -> float:
    """User and system seconds of the process, its live descendants and its reaped children."""
    own = proc.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in proc.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total
