"""`python -m bench [--quick] [--messages N]`: measure, print a summary, save bench/results/<date>.json."""

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
from bench import runs
from bench.load import envelope_bytes
from bench.stack import ROOT, BenchError, Stack

RESULTS = ROOT / "bench" / "results"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="2,000 messages and 10 s paced runs (under 2 min)"
    )
    parser.add_argument("--messages", type=int, help="messages per full-speed run (5,000; --quick 2,000)")
    parser.add_argument("--paced-seconds", type=float, help="length of each paced run (20; --quick 10)")
    parser.add_argument(
        "--rate", type=float, default=300, help="offered msgs/s of the paced Kafka and hop runs"
    )
    parser.add_argument(
        "--pipeline-rate",
        type=float,
        default=25,
        help="offered signals/s of the paced pipeline run (below what it carries one signal a batch)",
    )
    args = parser.parse_args(argv)
    args.messages = args.messages or (2000 if args.quick else 5000)
    args.paced_seconds = args.paced_seconds or (10.0 if args.quick else 20.0)
    return args


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _summary(results: dict) -> Table:
    table = Table(title="Alpha Panda bench (latency in ms)", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Stage")
    table.add_column("Run")
    for name in ("Msgs", "Offered/s", "Achieved/s", "p50", "p95", "p99", "max"):
        table.add_column(name, justify="right")
    kafka = results["kafka"]
    n = str(results["parameters"]["messages"])
    table.add_row("Kafka", "produce only", n, "-", f"{kafka['produce_per_s']:,.0f}")
    table.add_row("Kafka", "read back", n, "-", f"{kafka['consume_per_s']:,.0f}")
    for stage, key in (("Kafka", "kafka"), ("Bare hop", "bare_hop"), ("Pipeline", "pipeline")):
        for run in ("full", "paced"):
            fig = results[key][run]
            offered = fig["offered_per_s"]
            table.add_row(
                stage,
                "paced" if offered else "flat out",
                str(fig["messages"]),
                f"{offered:,.0f}" if offered else "-",
                f"{fig['per_s']:,.0f}",
                *(f"{fig['latency_ms'][p]:,.1f}" for p in ("p50", "p95", "p99", "max")),
            )
    return table


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM as on Ctrl-C
    out = Console(soft_wrap=True)
    if not out.is_terminal:
        out.width = 120  # in logs and pipes, the whole table rather than 80 wrapped columns

    def say(line: str) -> None:
        out.print(line, markup=False, highlight=False)

    started, clock = datetime.now().astimezone(), time.monotonic()
    n, paced_hop = args.messages, round(args.rate * args.paced_seconds)
    paced_pipeline = round(args.pipeline_rate * args.paced_seconds)
    results: dict = {
        "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
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
            "pipeline_paced_rate": args.pipeline_rate,
            "envelope_bytes": envelope_bytes(),
        },
    }
    say(f"Alpha Panda bench: {n} messages a full-speed run, paced runs of {args.paced_seconds:g}s")
    stack = Stack(say)
    try:
        stack.up()
        results["kafka"] = runs.bare_kafka(n, paced_hop, args.rate, say)
        results["bare_hop"] = runs.bare_hop(stack, n, paced_hop, args.rate, say)
        results["pipeline"] = runs.pipeline(stack, n, paced_pipeline, args.pipeline_rate, say)
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
    hop, pipe = results["bare_hop"], results["pipeline"]
    results["ratios"] = {
        "pipeline_per_s_over_hop_per_s": _ratio(pipe["full"]["per_s"], hop["full"]["per_s"]),
        "pipeline_p99_over_hop_p99": _ratio(
            pipe["paced"]["latency_ms"]["p99"], hop["paced"]["latency_ms"]["p99"]
        ),
    }
    results["duration_s"] = round(time.monotonic() - clock, 1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    out.print(_summary(results))
    ratios = results["ratios"]
    say(
        f"pipeline ÷ bare hop: throughput {ratios['pipeline_per_s_over_hop_per_s']} "
        f"({pipe['full']['per_s']:,.0f} vs {hop['full']['per_s']:,.0f}/s flat out), "
        f"p99 latency {ratios['pipeline_p99_over_hop_p99']} "
        f"({pipe['paced']['latency_ms']['p99']:,.1f} vs {hop['paced']['latency_ms']['p99']:,.1f} ms paced)"
    )
    size = results["parameters"]["envelope_bytes"]
    say(f"envelope {size} bytes; took {results['duration_s']}s; saved {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
