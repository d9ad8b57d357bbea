"""The full pipeline, real processes, at rising offered load: feed -> strategies -> bridge -> risk ->
trade -> portfolio, for one set of active brokers.

The strategy runner, the bridge and N Celery workers per broker queue run throughout (and the
zerodha order watcher when zerodha is active); for each load step a feed process publishes ticks at
the rate that makes the strategies offer the step's signals a second, then the bench waits for every
consumer group to catch up. Steps rise until the pipeline saturates. Latency is read from the topics
afterwards (`bench.latency`); lag and memory are sampled as it runs. Last come the tick steps: ticks
on the watched instruments (`bench.universe`), rising, measured from the groups' committed offsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alphapanda import config, db_stats, infra, kafka, topics
from alphapanda.children import manage, pool_label, worker
from bench import latency, stats, universe, worker_stats
from bench.lag import LagSampler
from bench.load import wait_for
from bench.memory import ProcessSampler
from bench.stack import BenchError, Stack
from trading.feeds.sim import FRAME_MS

Say = Callable[[str], None]
THREADS = config.WORKER_THREADS_DEFAULT  # the bench measures what is deployed unless told otherwise
WARM_UP_TICKS_PER_S = 200  # a few ticks per instrument: fills the SMA windows, sets each baseline
WARM_UP_S = 3.0
START_TIMEOUT_S = 120.0  # processes starting together on a small machine, and the bridge's group join
TICK_DRAIN_S = 300.0  # after a tick step the marks may be far behind; they drain at their own rate


@dataclass(frozen=True)
class Plan:
    steps: tuple[float, ...]  # offered signals/s, rising
    step_s: float
    drain_s: float  # longest wait for the groups to catch up after a step
    soak_s: float  # 0: no soak
    workers: int  # Celery worker processes per broker queue
    threads: int = THREADS  # tasks each worker runs at once (WORKER_THREADS; 1: the solo pool)
    tick_steps: tuple[float, ...] = ()  # ticks/s on the watched instruments, rising: ticks into strategies
    frame_ms: float = FRAME_MS  # the sim feed's frames: a frame's signals reach the workers as one burst


@dataclass
class Window:
    name: str
    target_per_s: float
    tick_rate: float
    start_ns: int
    end_ns: int
    drained: bool
    tasks: dict  # broker -> stage -> tasks/s, records a task, ms a task (bench.worker_stats)


class Mode:
    """One set of active brokers: its processes, its samplers, its windows."""

    def __init__(self, stack: Stack, brokers: tuple[str, ...], plan: Plan, say: Say) -> None:
        self.stack, self.brokers, self.plan, self.say = stack, brokers, plan, say
        # A topic's ready partitions are spread over as many tasks as there are workers to take them.
        self.env = {"ACTIVE_BROKERS": ",".join(brokers), "BRIDGE_TASKS_PER_TOPIC": str(plan.workers),
                    "WORKER_THREADS": str(plan.threads)}  # fmt: skip
        self.names: list[str] = []
        self.worker_ports: list[int] = []
        self.lag: LagSampler | None = None
        self.processes: ProcessSampler | None = None
        self._counts: dict[str, int] = {}  # messages per topic when the last feed started
        self._feeds = 0

    def _start(self, name: str, argv: list[str], **env: str) -> None:
        self.stack.start(name, argv, **self.env, **env)
        self.names.append(name)

    def up(self) -> None:
        kafka.create_topics(topics.all_topics(self.brokers))
        for broker in self.brokers:
            for n in range(self.plan.workers):
                port = infra.free_port()  # its task histograms, read per step
                self.worker_ports.append(port)
                self._start(
                    f"worker-{broker}-{n}", worker(broker, f"bench-{broker}-{n}"), METRICS_PORT=str(port)
                )
        self._start("bridge", manage("run_bridge"))
        if "zerodha" in self.brokers:
            self._start("kite-orders", manage("run_kite_orders", "--poll-every", "1"))
        self._start("strategies", manage("run_strategies"))
        self.lag = LagSampler(self.brokers)
        self.processes = ProcessSampler(self.stack.pids)
        self.lag.start()
        self.processes.start()

    def checks(self) -> list[Callable[[], None]]:
        return [lambda: self.stack.check_alive(ignore={"feed"}), self.lag.check, self.processes.check]

    def _raw(self, broker: str) -> str:
        return topics.broker_topic(broker, topics.SIGNALS_RAW)

    def _snapshot(self) -> dict[str, int]:
        """Messages per topic as last sampled (the groups have caught up, so it is current)."""
        return {t: self.lag.count(t) for t in (topics.MARKET_TICKS, *map(self._raw, self.brokers))}

    def feed(
        self,
        name: str,
        target: float,
        seconds: float,
        tick_rate: float | None = None,
        symbols: Sequence[str] = (),
        drain_s: float | None = None,
    ) -> Window:
        """One feed process for `seconds` at the tick rate that offers `target` signals/s (or at
        `tick_rate`, on `symbols` when given, else on the strategies' instruments), then drain."""
        now = self._snapshot()
        if tick_rate is None:  # signals a tick as the last load step made them (the warm-up's are few)
            ticks, signals = (
                now[t] - self._counts.get(t, now[t]) for t in (topics.MARKET_TICKS, self._raw("paper"))
            )
            tick_rate = stats.next_tick_rate(target, signals, ticks, universe.SIGNALS_PER_TICK)
        self._counts = now if target else {}
        self._feeds += 1
        db_stats.analyze_unless_autovacuum()  # before the window: a server without autovacuum
        start, before = time.time_ns(), worker_stats.scrape(self.worker_ports)
        argv = manage("run_feed", "--source", "sim", "--rate", f"{tick_rate:g}", "--seed", str(self._feeds),
                      "--duration", f"{seconds:g}", "--frame-ms", f"{self.plan.frame_ms:g}", "--symbols", ",".join(symbols or universe.traded_symbols()))  # fmt: skip
        proc = self.stack.start("feed", argv, **self.env)
        wait_for(
            lambda: int(proc.poll() is not None),
            1,
            timeout=seconds + 60,
            what=f"the {name} feed to finish",
            checks=self.checks(),
        )
        if proc.returncode != 0:
            self.stack.check_alive()  # fails with the feed's log
        self.stack.stop("feed")
        end = time.time_ns()
        drained = self._drain(drain_s or (self.plan.drain_s if name != "warm-up" else START_TIMEOUT_S))
        tasks = worker_stats.between(
            before, worker_stats.scrape(self.worker_ports), (time.time_ns() - start) / 1e9
        )
        return Window(name, target, tick_rate, start, end, drained, tasks)

    def _drain(self, timeout: float) -> bool:
        """Wait until every group has caught up and the fills stopped coming; False on timeout."""
        from portfolio.models import AppliedFill

        deadline = time.monotonic() + timeout
        applied = -1
        while time.monotonic() < deadline:
            for check in self.checks():
                check()
            now = AppliedFill.objects.count()
            if self.lag.drained() and now == applied:
                return True
            applied = now
            time.sleep(self.lag.every)
        return False

    def assess(self, window: Window) -> dict[str, dict]:
        """Each broker's figures for the window, read back from the topics and the ledger now, with
        the verdict: saturated when under 90% got through or a backlog built up (`stats.is_saturated`)."""
        figures = {}
        for broker, trace in latency.read_traces(self.brokers).items():
            f = {"step": window.name, "target_per_s": window.target_per_s, "tick_rate": window.tick_rate,
                 "drained": window.drained} | latency.window(trace, window.start_ns, window.end_ns)  # fmt: skip
            f["saturated"] = not window.drained or stats.is_saturated(
                f["offered_per_s"], f["achieved_per_s"], *f["thirds_p50_ms"]
            )
            f["work_redone"] = dict(trace.repeated)
            f["tasks"] = window.tasks.get(broker, {})
            figures[broker] = f
        return figures

    def cost(self, figures: dict[str, dict]) -> dict:
        """Cores each process used while the window's ticks flowed, and CPU ms per signal and per tick
        (every process's CPU over each rate: a whole-pipeline cost, tick and signal work together)."""
        first = next(iter(figures.values()))
        cores = self.processes.cores(first["first_tick_ns"], first["last_tick_ns"])
        total = sum(cores.values())
        signals = sum(f["offered_per_s"] for f in figures.values())
        return {
            "cores": cores,
            "cores_total": round(total, 3),
            "cpu_ms_per_signal": round(total / signals * 1000, 3) if signals and total else None,
            "cpu_ms_per_tick": round(total / first["ticks_per_s"] * 1000, 3)
            if first["ticks_per_s"] and total
            else None,
        }

    def tick_step(self, rate: float) -> dict:
        """Ticks on the watched instruments at `rate` a second: what the strategies took in, what the
        bridge's tasks marked, what stopped them, and each process's cores and CPU µs a tick."""
        window = self.feed(f"{rate:g} ticks/s", 0, self.plan.step_s, tick_rate=rate,
                           symbols=universe.watched_symbols(), drain_s=TICK_DRAIN_S)  # fmt: skip
        flow = stats.tick_flow(self.lag.series, window.start_ns, window.end_ns)
        cores = self.processes.cores(flow["first_ns"], flow["last_ns"]) if flow else {}
        taken = flow["strategies_per_s"] if flow else 0
        return {"step": window.name, "requested_per_s": rate, "drained": window.drained, "cores": cores,
                "cores_total": round(sum(cores.values()), 3), "limit": stats.tick_limit(flow, rate),
                "cpu_us_per_tick": {n: round(c / taken * 1e6, 1) for n, c in cores.items()} if taken else {},
                "tasks": window.tasks} | (flow or {})  # fmt: skip

    def down(self) -> tuple[dict, dict]:
        """Stop everything; return the lag series and the memory series."""
        for sampler in (self.lag, self.processes):
            if sampler is not None:
                sampler.stop()
        self.stack.stop(*reversed(self.names))
        self.names.clear()
        return (self.lag.series if self.lag else []), (self.processes.rss_series() if self.processes else {})


TICK_RUN = "paper, tick steps"


def runs_of(results: dict) -> dict[str, dict]:
    """Every pipeline run of a bench: each mode's, then the tick steps' own when there were any."""
    return {**results["pipeline"], **({TICK_RUN: results["ticks"]} if "ticks" in results else {})}


def workers_label(workers: int, threads: int) -> str:
    return f"{workers} worker(s) per queue, {pool_label(threads)}"


def run(stack: Stack, brokers: tuple[str, ...], plan: Plan, say: Say) -> dict:
    """Warm up, rise through the plan's steps until saturated, soak if asked; each step's figures."""
    label = ",".join(brokers)
    say(f"  pipeline {label}: {universe.STRATEGIES} strategies over {universe.INSTRUMENTS} instruments, "
        f"{workers_label(plan.workers, plan.threads)}")  # fmt: skip
    mode = Mode(stack, brokers, plan, say)
    steps: dict[str, list[dict]] = {b: [] for b in brokers}
    costs: list[dict] = []
    soak: dict[str, dict] = {}
    soak_growth: dict[str, float] = {}
    tick_steps: list[dict] = []
    try:
        mode.up()
        warm = mode.feed("warm-up", 0, WARM_UP_S, tick_rate=WARM_UP_TICKS_PER_S)
        if not warm.drained:
            raise BenchError(
                f"the {label} pipeline did not catch up with the warm-up in {START_TIMEOUT_S:.0f}s"
            )
        best = plan.steps[0] if plan.steps else 0.0
        for target in plan.steps:
            window = mode.feed(f"{target:g}/s", target, plan.step_s)
            figures = mode.assess(window)
            costs.append({"step": window.name} | mode.cost(figures))
            for broker, f in figures.items():
                steps[broker].append(f)
                say_step(say, broker, f)
            if any(f["saturated"] for f in figures.values()):
                break
            best = target
        if plan.soak_s:
            soak_target = max(plan.steps[0], best / 2)
            say(f"    soak at {soak_target:g} signals/s for {plan.soak_s / 60:g} min ...")
            window = mode.feed("soak", soak_target, plan.soak_s)
            soak = mode.assess(window)
            costs.append({"step": window.name} | mode.cost(soak))
            soak_growth = mode.processes.growth(window.start_ns, window.end_ns) if mode.processes else {}
            for broker, f in soak.items():
                say_step(say, broker, f)
        # Last: a tick step's millions of ticks would otherwise be read back by every later assessment.
        for rate in plan.tick_steps:
            step = mode.tick_step(rate)
            tick_steps.append(step)
            say_tick_step(say, step)
            if step["limit"]:
                break
    finally:
        lag, memory = mode.down()
    return {
        "workers": plan.workers,
        "threads": plan.threads,
        "brokers": {
            b: {
                "steps": steps[b],
                "soak": soak.get(b),
                "max_achieved_per_s": max((s["achieved_per_s"] for s in steps[b]), default=None),
                "sustained_per_s": max(
                    (s["achieved_per_s"] for s in steps[b] if not s["saturated"]), default=None
                ),
                "saturated_at_offered_per_s": next(
                    (s["offered_per_s"] for s in steps[b] if s["saturated"]), None
                ),
            }
            for b in brokers
        },
        "cost": costs,
        "tick_steps": tick_steps,
        "ticks_into_strategies_per_s": max((t.get("strategies_per_s", 0) for t in tick_steps), default=None),
        "lag": lag,
        "memory": memory,
        "memory_summary": mode.processes.summary() if mode.processes else {},
        "soak_growth_mb": soak_growth,
    }


def say_tick_step(say: Say, t: dict) -> None:
    if "offered_per_s" not in t:
        say(f"    ticks {t['step']:>13}: the feed offered none")
        return
    behind = f", {t['marks_lag_at_end']:,} behind at the end" if t["marks_lag_at_end"] else ""
    limit = f"  LIMIT: the {t['limit']}" if t["limit"] else ""
    say(f"    ticks {t['step']:>13}: {t['offered_per_s']:>7,.0f} offered, {t['strategies_per_s']:>7,.0f} into "
        f"strategies, {t['marks_per_s']:>7,.0f} marked{behind}; {t['cores_total']} cores{limit}")  # fmt: skip
    say(
        "             CPU µs a tick: "
        + ", ".join(f"{n} {us:g}" for n, us in sorted(t["cpu_us_per_tick"].items()))
    )


def say_step(say: Say, broker: str, f: dict) -> None:
    lat = f["latency_ms"]["end_to_end"]
    shown = " ".join(f"{p} {lat[p]:,.0f}" if lat[p] is not None else f"{p} -" for p in ("p50", "p99", "max"))
    say(f"    {broker:<8} {f['step']:>8}: {f['ticks_per_s']:>7,.0f} ticks/s  {f['offered_per_s']:>6,.0f} signals/s "
        f"offered  {f['achieved_per_s']:>6,.0f}/s applied  e2e ms {shown}"
        f"{'  SATURATED' if f['saturated'] else ''}")  # fmt: skip
    if f.get("tasks"):
        say("             tasks: " + "; ".join(
            f"{stage} {t['tasks_per_s']:g}/s x {t['records_per_task']:g} records, {t['ms_per_task']:g} ms"
            for stage, t in f["tasks"].items()))  # fmt: skip
