"""Joining a load step's messages by causation into per-stage latencies, without Kafka or a database."""

from __future__ import annotations

from collections import Counter

import msgspec

from bench import latency
from bench.latency import Head, Trace

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000


def _chain(n: int, at: int) -> dict[str, Head]:
    """Tick -> signal -> validated -> fill, 1/2/3/4 ms apart, for tick number n at time `at`."""
    return {
        "tick": Head(f"t{n}", at, at),
        "raw": Head(f"r{n}", at, at + 1 * MS, f"t{n}"),
        "validated": Head(f"v{n}", at, at + 3 * MS, f"r{n}"),
        "filled": Head(f"f{n}", at, at + 6 * MS, f"v{n}"),
    }


def _trace(chains: list[dict[str, Head]], applied_after_ms: int = 4) -> Trace:
    def by_id(kind: str) -> dict[str, Head]:
        return {c[kind].id: c[kind] for c in chains}

    filled = by_id("filled")
    return Trace(
        ticks=by_id("tick"),
        raw=by_id("raw"),
        validated=by_id("validated"),
        filled=filled,
        applied={f.id: f.ts_produce + applied_after_ms * MS for f in filled.values()},
    )


def test_window_when_chains_complete_then_each_hop_and_end_to_end() -> None:
    trace = _trace([_chain(n, T0 + n * 10 * MS) for n in range(101)])
    figures = latency.window(trace, T0, T0 + 2_000 * MS)
    assert (figures["ticks"], figures["signals"], figures["applied"]) == (101, 101, 101)
    lat = figures["latency_ms"]
    assert [lat[s]["p50"] for s in latency.STAGES] == [1.0, 2.0, 3.0, 4.0, 10.0]
    assert figures["offered_per_s"] == 101.0  # 101 signals over the 1 s from first to last tick
    assert figures["achieved_per_s"] == 101.0


def test_window_when_outside_then_left_out_and_unapplied_not_counted() -> None:
    chains = [_chain(n, T0 + n * 10 * MS) for n in range(10)]
    trace = _trace(chains)
    del trace.applied["f9"]
    figures = latency.window(trace, T0, T0 + 50 * MS)  # ticks 0..4
    assert (figures["ticks"], figures["fills"], figures["applied"]) == (5, 5, 5)
    assert latency.window(trace, T0 + 50 * MS, T0 + 1_000 * MS)["applied"] == 4


def test_window_when_cause_missing_then_hop_skipped_not_failed() -> None:
    chain = _chain(0, T0)
    trace = _trace([chain])
    trace.validated.clear()  # e.g. a zerodha fill caused by an order update, not the validated signal
    lat = latency.window(trace, T0, T0 + MS)["latency_ms"]
    assert lat["trade"]["n"] == 0 and lat["risk"]["n"] == 0
    assert lat["end_to_end"]["p50"] == 10.0


def test_index_when_id_repeats_then_counted_as_work_redone() -> None:
    value = msgspec.json.encode({"id": "a", "ts_event": 1, "ts_produce": 2, "payload": {"x": 1}})
    repeated: Counter[str] = Counter()
    heads = latency.index([value, value], repeated, "paper.orders.filled")
    assert list(heads) == ["a"] and repeated == {"paper.orders.filled": 1}
