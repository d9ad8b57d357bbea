"""Per-stage and end-to-end latency from the envelopes the pipeline itself wrote.

After a run every topic is read back from its start (`log_reader.read_records`) and each message is
joined to its cause by `causation_id`: signal -> tick, validated -> signal, fill -> validated. Each
hop is the difference of the two messages' `ts_produce`; the last hop ends at the fill's
`AppliedFill.applied_at`, and end-to-end runs from the tick's `ts_event` (carried along the chain) to
that same moment. A load step is the set of chains whose tick's `ts_event` falls in its window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from bench import stats

STAGES = ("strategies", "risk", "trade", "portfolio", "end_to_end")
STAGE_NAMES = {
    "strategies": "tick -> signal (strategy runner)",
    "risk": "signal -> validated (bridge, risk task)",
    "trade": "validated -> fill (bridge, trade task)",
    "portfolio": "fill -> applied (bridge, portfolio task)",
    "end_to_end": "tick event -> applied (end to end)",
}


class Head(msgspec.Struct):
    """The envelope fields a join needs; the payload is never decoded."""

    id: str
    ts_event: int
    ts_produce: int
    causation_id: str | None = None


_decoder = msgspec.json.Decoder(Head)


@dataclass
class Trace:
    """One broker's messages by id, the ticks they came from, and when each fill was applied (ns)."""

    ticks: dict[str, Head]
    raw: dict[str, Head] = field(default_factory=dict)
    validated: dict[str, Head] = field(default_factory=dict)
    filled: dict[str, Head] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    repeated: Counter[str] = field(default_factory=Counter)  # ids seen again, by topic: work redone


def index(values: Iterable[bytes], repeated: Counter[str], name: str) -> dict[str, Head]:
    by_id: dict[str, Head] = {}
    for value in values:
        head = _decoder.decode(value)
        if head.id in by_id:
            repeated[name] += 1
        by_id[head.id] = head
    return by_id


def read_traces(brokers: Iterable[str]) -> dict[str, Trace]:
    """Every topic of the run, read back now, and the ledger's applied fills, per broker."""
    from alphapanda import topics
    from alphapanda.log_reader import read_records
    from portfolio.models import AppliedFill

    def values(topic: str) -> Iterable[bytes]:
        return (record.value for record in read_records(topic, timeout=30))

    repeated: Counter[str] = Counter()
    ticks = index(values(topics.MARKET_TICKS), repeated, topics.MARKET_TICKS)
    traces = {}
    for broker in brokers:
        trace = Trace(ticks, repeated=Counter(repeated))
        for stream, into in (
            (topics.SIGNALS_RAW, trace.raw),
            (topics.SIGNALS_VALIDATED, trace.validated),
            (topics.ORDERS_FILLED, trace.filled),
        ):
            name = topics.broker_topic(broker, stream)
            into.update(index(values(name), trace.repeated, name))
        applied = AppliedFill.objects.filter(broker=broker).values_list("fill_id", "applied_at")
        trace.applied = {fill_id: round(at.timestamp() * 1e6) * 1000 for fill_id, at in applied}
        traces[broker] = trace
    return traces


def _hop(heads: Iterable[Head], causes: dict[str, Head]) -> list[int]:
    return [h.ts_produce - cause.ts_produce for h in heads if (cause := causes.get(h.causation_id or ""))]


def window(trace: Trace, start_ns: int, end_ns: int) -> dict:
    """The load and latency of the chains whose tick happened in [start_ns, end_ns)."""

    def inside(heads: dict[str, Head]) -> list[Head]:
        return [h for h in heads.values() if start_ns <= h.ts_event < end_ns]

    ticks, raw, validated, filled = (
        inside(h) for h in (trace.ticks, trace.raw, trace.validated, trace.filled)
    )
    applied = [(f, trace.applied[f.id]) for f in filled if f.id in trace.applied]
    samples = {
        "strategies": _hop(raw, trace.ticks),
        "risk": _hop(validated, trace.raw),
        "trade": _hop(filled, trace.validated),
        "portfolio": [at - f.ts_produce for f, at in applied],
        "end_to_end": [at - f.ts_event for f, at in applied],
    }
    first = min((t.ts_event for t in ticks), default=start_ns)
    last = max((t.ts_event for t in ticks), default=end_ns)
    times = [at for _, at in applied]
    return {
        "ticks": len(ticks),
        "signals": len(raw),
        "validated": len(validated),
        "fills": len(filled),
        "applied": len(applied),
        "seconds": round((last - first) / 1e9, 2),
        "first_tick_ns": first,
        "last_tick_ns": last,
        "ticks_per_s": stats.per_second(len(ticks), first, last),
        "offered_per_s": stats.per_second(len(raw), first, last),
        # first to last fill applied: the rate it kept up, or the rate it drained a backlog at
        "achieved_per_s": stats.per_second(len(times), min(times), max(times)) if len(times) > 1 else 0.0,
        "latency_ms": {stage: stats.latency_ms(samples[stage]) for stage in STAGES},
        # end to end p50 of the step's first and last thirds (by tick time): did a backlog build?
        "thirds_p50_ms": stats.thirds_p50_ms([(f.ts_event, at - f.ts_event) for f, at in applied]),
        "cdf": {stage: stats.cdf_points(samples[stage]) for stage in STAGES},
    }
