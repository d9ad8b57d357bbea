"""How a bench run names its results and labels its workers: runs of another shape never overwrite
the day's full run of the deployed shape."""

from __future__ import annotations

import argparse

import pytest

from bench import pipeline
from bench.__main__ import _stem
from trading.feeds.sim import FRAME_MS


def _args(
    *, workers: int = 1, threads: int = pipeline.THREADS, quick: bool = False, frame_ms: float = FRAME_MS
) -> argparse.Namespace:
    return argparse.Namespace(workers=workers, threads=threads, quick=quick, frame_ms=frame_ms)


@pytest.mark.parametrize(
    ("args", "stem"),
    [
        (_args(), "2026-11-26"),
        (_args(threads=1), "2026-11-26-threads-1"),
        (_args(workers=2), "2026-11-26-workers-2"),
        (_args(workers=2, threads=1, quick=True), "2026-11-26-workers-2-threads-1-quick"),
        (_args(frame_ms=50), "2026-11-26-frames-50ms"),
    ],
)
def test_stem_when_shape_differs_from_deployed_then_suffixed(args: argparse.Namespace, stem: str) -> None:
    assert _stem(args, "2026-11-26") == stem


def test_workers_label_names_solo_and_threads() -> None:
    assert pipeline.workers_label(1, 1) == "1 worker(s) per queue, solo"
    assert pipeline.workers_label(2, 4) == "2 worker(s) per queue, 4 threads each"
