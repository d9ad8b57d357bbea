"""The run's pictures, drawn from the results dict alone (so any saved run can be redrawn):
latency CDF per stage, throughput against offered load, ticks into strategies against ticks offered,
memory and consumer lag over time."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt

from bench.latency import STAGE_NAMES
from bench.pipeline import runs_of, workers_label


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heaviest_sustained(steps: list[dict]) -> dict | None:
    sustained = [s for s in steps if not s["saturated"]]
    return (sustained or steps or [None])[-1]


def latency_cdf(results: dict, out: Path) -> Path:
    """One panel per mode and broker: each stage's CDF at the heaviest load it sustained."""
    panels = [
        (mode, broker, fig)
        for mode, run in results["pipeline"].items()
        for broker, fig in run["brokers"].items()
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (mode, broker, figures) in zip(axes[0], panels, strict=True):
        step = _heaviest_sustained(figures["steps"])
        if step is None:
            continue
        for stage, name in STAGE_NAMES.items():
            points = step["cdf"][stage]
            if points:
                ax.step([ms for ms, _ in points], [f for _, f in points], where="post", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log)")
        ax.set_ylabel("fraction of messages")
        ax.set_title(f"{broker} (mode {mode}) at {step['offered_per_s']:,.0f} signals/s offered")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    return _save(fig, out / "latency_cdf.png")


def throughput(results: dict, out: Path) -> Path:
    """Applied against offered signals/s per step, with the 1:1 line and the bare hops' ceilings."""
    fig, ax = plt.subplots(figsize=(7, 5))
    top = 1.0
    for mode, run in results["pipeline"].items():
        for broker, figures in run["brokers"].items():
            steps = figures["steps"]
            offered = [s["offered_per_s"] for s in steps]
            ax.plot(offered, [s["achieved_per_s"] for s in steps], "o-", label=f"{broker} (mode {mode})")
            top = max(top, *offered, 1.0)
    ax.plot([1, top], [1, top], ":", color="grey", label="applied = offered")
    for (name, hop), colour in zip(results["bare_hop"].items(), ("tab:red", "tab:purple"), strict=False):
        ax.axhline(hop["full"]["per_s"], linestyle="--", color=colour, label=f"bare hop {name}, flat out")
    ax.set_xlabel("offered signals/s (log)")
    ax.set_ylabel("fills applied/s (log)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    workers = workers_label(results["parameters"]["workers"], results["parameters"].get("threads", 1))
    ax.set_title(f"throughput against offered load ({workers})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "throughput.png")


def ticks(results: dict, out: Path) -> Path:
    """The tick steps: ticks/s into the strategies and marked by the bridge's tasks against offered."""
    fig, ax = plt.subplots(figsize=(7, 5))
    steps = [t for t in results.get("ticks", {}).get("tick_steps", []) if "offered_per_s" in t]
    offered = [t["offered_per_s"] for t in steps]
    ax.plot(offered, [t["strategies_per_s"] for t in steps], "o-", label="into strategies")
    ax.plot(offered, [t["marks_per_s"] for t in steps], "s--", label="marked (bridge, tick tasks)")
    low, top = min(offered, default=1.0) / 2, max(offered, default=1.0)
    ax.plot([low, top], [low, top], ":", color="grey", label="= offered")
    ax.set_xlabel("ticks/s offered (log)")
    ax.set_ylabel("ticks/s taken in (log)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("ticks on the watched instruments")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "ticks.png")


def _gapped(points: list[tuple[float, float]], gap_s: float = 10.0) -> tuple[list[float], list[float]]:
    """x and y with a break where samples stop for a while: a feed process per step is not one line."""
    xs: list[float] = []
    ys: list[float] = []
    for t, y in points:
        if xs and t - xs[-1] > gap_s:
            xs.append(t)
            ys.append(math.nan)
        xs.append(t)
        ys.append(y)
    return xs, ys


def memory(results: dict, out: Path) -> Path:
    """RSS of every process over each run (each mode's load steps then soak; the tick steps)."""
    modes = list(runs_of(results).items())
    fig, axes = plt.subplots(1, len(modes), figsize=(7 * len(modes), 4.5), squeeze=False)
    for ax, (mode, run) in zip(axes[0], modes, strict=True):
        for name, points in sorted(run["memory"].items()):
            ax.plot(*_gapped(points), label=name)
        ax.set_xlabel("seconds since the processes started")
        ax.set_ylabel("RSS (MB)")
        ax.set_title(f"memory, mode {mode}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, out / "memory.png")


def lag(results: dict, out: Path) -> Path:
    """Messages behind per consumer group over each run."""
    modes = list(runs_of(results).items())
    fig, axes = plt.subplots(1, len(modes), figsize=(7 * len(modes), 4.5), squeeze=False)
    for ax, (mode, run) in zip(axes[0], modes, strict=True):
        series = run["lag"]
        t = [s["t"] for s in series]
        ax.plot(t, [s["strategies_lag"] for s in series], label="strategies on market.ticks")
        ax.plot(t, [sum(s["bridge_lag"].values()) for s in series], label="bridge, all its topics")
        ax.set_xlabel("seconds since the processes started")
        ax.set_ylabel("messages behind")
        ax.set_title(f"consumer lag, mode {mode}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, out / "lag.png")


def draw(results: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [draw_one(results, out) for draw_one in (latency_cdf, throughput, ticks, memory, lag)]
