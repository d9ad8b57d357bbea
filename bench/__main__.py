"""`python -m bench [--quick] [--workers N] [--threads T] [--frame-ms F] [--soak-minutes M]`: the ceilings and the full pipeline at
rising load, side by side; prints a summary, saves bench/results/<date>.json and its plots."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table

from alphapanda.infra import InfraError
from bench import pipeline, runs, stats, universe
from bench.latency import STAGE_NAMES
from bench.load import envelope_bytes
from bench.stack import ROOT, BenchError, Stack
from trading.feeds.sim import FRAME_MS

RESULTS = ROOT / "bench" / "results"
FULL_STEPS = (10, 25, 50, 100, 200, 400, 800, 1600, 3200)  # from light (the latency baseline) up
QUICK_STEPS = (10, 100)
TICK_STEPS = (2500, 5000, 10000, 20000, 40000)  # ticks/s into the watchers, after the paper steps
MODES = (("paper",), ("paper", "zerodha"))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer messages, two short steps, a short soak (<2 min)"
    )
    parser.add_argument(
        "--messages", type=int, help="messages per flat-out ceiling run (5,000; --quick 1,000)"
    )
    parser.add_argument(
        "--paced-seconds", type=float, help="length of each paced ceiling run (20; --quick 3)"
    )
    parser.add_argument(
        "--rate", type=float, default=300, help="offered msgs/s of the paced Kafka and hop runs"
    )
    parser.add_argument(
        "--steps",
        help=f"offered signals/s, rising (default {','.join(map(str, FULL_STEPS))}; "
        f"--quick {','.join(map(str, QUICK_STEPS))}; paper,zerodha --quick: the first only)",
    )
    parser.add_argument(
        "--tick-steps",
        help=f"ticks/s on the watched instruments, rising, after the paper steps (default "
        f"{','.join(map(str, TICK_STEPS))}; --quick none; 0: none)",
    )
    parser.add_argument("--step-seconds", type=float, help="feed time per load step (30; --quick 5)")
    parser.add_argument(
        "--soak-minutes", type=float, help="paper soak at half the best sustained load (10; --quick 0.1)"
    )
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes per broker queue")
    parser.add_argument("--threads", type=int, default=pipeline.THREADS,
                        help=f"tasks each worker runs at once (WORKER_THREADS, {pipeline.THREADS} as "
                             "deployed; 1: the solo pool)")  # fmt: skip
    parser.add_argument("--frame-ms", type=float, default=FRAME_MS,
                        help=f"the sim feed's frame length ({FRAME_MS:g}): a frame's signals reach the "
                             "workers together, so shorter frames mean smaller bursts")  # fmt: skip
    args = parser.parse_args(argv)  # fmt: skip
    if not args.frame_ms > 0:
        parser.error(f"--frame-ms must be positive, got {args.frame_ms:g}")
    args.messages = args.messages or (1000 if args.quick else 5000)
    args.paced_seconds = args.paced_seconds or (3.0 if args.quick else 20.0)
    args.steps = (
        tuple(float(s) for s in args.steps.split(","))
        if args.steps
        else (QUICK_STEPS if args.quick else FULL_STEPS)
    )
    args.tick_steps = (
        tuple(float(s) for s in args.tick_steps.split(",") if float(s) > 0)
        if args.tick_steps is not None
        else (() if args.quick else TICK_STEPS)
    )
    args.step_seconds = args.step_seconds or (5.0 if args.quick else 30.0)
    args.soak_minutes = args.soak_minutes if args.soak_minutes is not None else (0.1 if args.quick else 10.0)
    return args


def _plan(
    args: argparse.Namespace,
    steps: tuple[float, ...],
    *,
    drain_s: float,
    soak_s: float = 0,
    tick_steps: tuple[float, ...] = (),
) -> pipeline.Plan:
    """A measurement in the run's shape: its step length, workers, threads and feed frames."""
    return pipeline.Plan(steps, args.step_seconds, drain_s=drain_s, soak_s=soak_s, workers=args.workers,
                         threads=args.threads, tick_steps=tick_steps, frame_ms=args.frame_ms)  # fmt: skip


def _plans(args: argparse.Namespace) -> dict[tuple[str, ...], pipeline.Plan]:
    """The paper run rises through every step and soaks; the paper,zerodha run does not soak, and in
    --quick takes only the first step."""
    paper = _plan(args, args.steps, drain_s=15 if args.quick else 60, soak_s=args.soak_minutes * 60)
    zerodha = _plan(args, args.steps[:1] if args.quick else args.steps, drain_s=paper.drain_s)
    return {MODES[0]: paper, MODES[1]: zerodha}


def _tick_plan(args: argparse.Namespace) -> pipeline.Plan | None:
    """The tick steps: paper only, no signal steps, on a broker of their own (as every measurement),
    not on the one the soak grew by a gigabyte and more (docs/performance.md)."""
    if not args.tick_steps:
        return None
    return _plan(args, (), drain_s=60, tick_steps=args.tick_steps)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _ceilings(results: dict) -> Table:
    table = Table(title="Ceilings (latency in ms)", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("Stage", "Run", "Msgs", "Offered/s", "Achieved/s", "p50", "p95", "p99", "max"):
        table.add_column(name, justify="left" if name in ("Stage", "Run") else "right")
    kafka = results["kafka"]
    n = str(results["parameters"]["messages"])
    table.add_row("Kafka", "produce only", n, "-", f"{kafka['produce_per_s']:,.0f}")
    table.add_row("Kafka", "read back", n, "-", f"{kafka['consume_per_s']:,.0f}")
    rows = [("Kafka", kafka)] + [(f"Bare hop {k}", v) for k, v in results["bare_hop"].items()]
    for stage, section in rows:
        for run in ("full", "paced"):
            fig = section[run]
            offered = fig["offered_per_s"]
            table.add_row(stage, "paced" if offered else "flat out", str(fig["messages"]),
                          f"{offered:,.0f}" if offered else "-", f"{fig['per_s']:,.0f}",
                          *(_ms(fig["latency_ms"][p]) for p in ("p50", "p95", "p99", "max")))  # fmt: skip
    return table


def _pipeline(results: dict) -> Table:
    workers = pipeline.workers_label(
        results["parameters"]["workers"], results["parameters"].get("threads", 1)
    )
    table = Table(title=f"Pipeline at rising load, {workers} (end-to-end ms: tick event -> "
                  "applied)", title_justify="left", box=box.SIMPLE_HEAD)  # fmt: skip
    for name in (
        "Mode",
        "Broker",
        "Step",
        "Ticks/s",
        "Offered/s",
        "Applied/s",
        "p50",
        "p95",
        "p99",
        "max",
        "",
    ):
        table.add_column(name, justify="left" if name in ("Mode", "Broker", "Step", "") else "right")
    for mode, run in results["pipeline"].items():
        for broker, figures in run["brokers"].items():
            soak = [figures["soak"]] if figures["soak"] else []
            for s in figures["steps"] + soak:
                lat = s["latency_ms"]["end_to_end"]
                table.add_row(mode, broker, s["step"], f"{s['ticks_per_s']:,.0f}", f"{s['offered_per_s']:,.0f}",
                              f"{s['achieved_per_s']:,.0f}", *(_ms(lat[p]) for p in ("p50", "p95", "p99", "max")),
                              "saturated" if s["saturated"] else "")  # fmt: skip
    return table


def _stages(results: dict) -> Table:
    """Per-stage latency of paper at its lightest step: where the time goes."""
    step = results["pipeline"]["paper"]["brokers"]["paper"]["steps"][0]
    table = Table(title=f"paper per stage at {step['offered_per_s']:,.0f} signals/s (ms)", title_justify="left",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    for name in ("Stage", "n", "p50", "p95", "p99", "max"):
        table.add_column(name, justify="left" if name == "Stage" else "right")
    for stage, name in STAGE_NAMES.items():
        lat = step["latency_ms"][stage]
        table.add_row(name, str(lat["n"]), *(_ms(lat[p]) for p in ("p50", "p95", "p99", "max")))
    return table


def _ratios(results: dict) -> dict:
    """The pipeline against the bare hops: the most fills/s any step applied (at saturation, its
    capacity) over their flat-out rates, and the lightest step's end-to-end p99 over the unbatched
    hop's paced p99."""
    hop = results["bare_hop"]["unbatched"]
    paper = results["pipeline"]["paper"]["brokers"]["paper"]
    p99 = paper["steps"][0]["latency_ms"]["end_to_end"]["p99"] if paper["steps"] else None
    return {
        "pipeline_per_s_over_hop_per_s": stats.ratio(paper["max_achieved_per_s"], hop["full"]["per_s"]),
        "pipeline_per_s_over_batched_hop_per_s": stats.ratio(
            paper["max_achieved_per_s"], results["bare_hop"]["batched"]["full"]["per_s"]
        ),
        "pipeline_p99_over_hop_p99": stats.ratio(p99, hop["paced"]["latency_ms"]["p99"]),
    }


def _stem(args: argparse.Namespace, day: str) -> str:
    """<date>.json for the default full run; a quick run or another worker or thread count than
    deployed gets a suffix, so none overwrites the full run of the day."""
    return (
        day
        + (f"-workers-{args.workers}" if args.workers != 1 else "")
        + (f"-threads-{args.threads}" if args.threads != pipeline.THREADS else "")
        + (f"-frames-{args.frame_ms:g}ms" if args.frame_ms != FRAME_MS else "")
        + ("-quick" if args.quick else "")
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM as on Ctrl-C
    out = Console(soft_wrap=True)
    if not out.is_terminal:
        out.width = 140  # in logs and pipes, the whole table rather than 80 wrapped columns

    started, clock = datetime.now().astimezone(), time.monotonic()

    def say(line: str) -> None:
        out.print(f"[{time.monotonic() - clock:5.0f}s] {line}", markup=False, highlight=False)

    n, paced_n = args.messages, round(args.rate * args.paced_seconds)
    results: dict = {
        "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "quick": args.quick,
            "messages": n,
            "paced_seconds": args.paced_seconds,
            "paced_rate": args.rate,
            "steps": args.steps,
            "step_seconds": args.step_seconds,
            "tick_steps": args.tick_steps,
            "soak_minutes": args.soak_minutes,
            "workers": args.workers,
            "threads": args.threads,
            "frame_ms": args.frame_ms,
            "strategies": universe.STRATEGIES,
            "instruments": universe.INSTRUMENTS,
            "zerodha_strategies": universe.ZERODHA_STRATEGIES,
            "envelope_bytes": envelope_bytes(),
        },
    }
    say(f"Alpha Panda bench: ceilings with {n} messages flat out and {args.paced_seconds:g}s paced; pipeline "
        f"steps {', '.join(f'{s:g}' for s in args.steps)} signals/s of {args.step_seconds:g}s, "
        f"soak {args.soak_minutes:g} min, {pipeline.workers_label(args.workers, args.threads)}, feed frames "
        f"{args.frame_ms:g} ms")  # fmt: skip
    stack = Stack(say, sandbox=True)
    try:
        stack.up()
        universe.install()
        results["kafka"] = runs.bare_kafka(n, paced_n, args.rate, say)
        stack.fresh_kafka()  # each measurement on an empty broker: Tansu slows as its log grows
        results["bare_hop"] = runs.bare_hop(stack, n, paced_n, args.rate, say)
        results["pipeline"] = {}
        for brokers, plan in _plans(args).items():
            stack.fresh_kafka()
            results["pipeline"][",".join(brokers)] = pipeline.run(stack, brokers, plan, say)
        if tick_plan := _tick_plan(args):
            stack.fresh_kafka()
            results["ticks"] = pipeline.run(stack, MODES[0], tick_plan, say)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except (BenchError, InfraError) as exc:
        out.print(f"[red]bench failed:[/red] {exc}", highlight=False)
        return 1
    finally:
        say("stopping what the bench started ...")
        stack.down()
        say("stopped")
    results["ratios"] = _ratios(results)
    stem = _stem(args, results["date"])
    RESULTS.mkdir(exist_ok=True)
    from bench import plots

    pictures = plots.draw(results, RESULTS / stem)
    results["duration_s"] = round(time.monotonic() - clock, 1)
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    for table in (_ceilings(results), _pipeline(results), _stages(results)):
        out.print(table)
    ratios = results["ratios"]
    say(f"pipeline ÷ bare unbatched hop: throughput {ratios['pipeline_per_s_over_hop_per_s']}, "
        f"p99 latency {ratios['pipeline_p99_over_hop_p99']}; ÷ batched hop: throughput "
        f"{ratios['pipeline_per_s_over_batched_hop_per_s']}")  # fmt: skip
    if into := results.get("ticks", {}).get("ticks_into_strategies_per_s"):
        last = results["ticks"]["tick_steps"][-1]
        say(f"ticks into strategies: {into:,.0f}/s at most; the last step ({last['step']}) "
            + (f"was limited by the {last['limit']}" if last["limit"] else "kept up"))  # fmt: skip
    for mode, run in pipeline.runs_of(results).items():
        peaks = ", ".join(f"{name} {m['peak_mb']:.0f}" for name, m in sorted(run["memory_summary"].items()))
        say(f"peak RSS MB, mode {mode}: {peaks}")
        if run["soak_growth_mb"]:
            grown = ", ".join(f"{name} {mb:+.1f}" for name, mb in sorted(run["soak_growth_mb"].items()))
            say(f"RSS growth over the soak, MB, mode {mode}: {grown}")
    say(f"envelope {results['parameters']['envelope_bytes']} bytes; took {results['duration_s']}s; saved "
        f"{path.relative_to(ROOT)} and {', '.join(p.name for p in pictures)} in {(RESULTS / stem).relative_to(ROOT)}/")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
