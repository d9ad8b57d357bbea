"""`process.started`: a long-running process's collector settled once it is set up (GC_GEN0_THRESHOLD)."""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Iterator

import pytest

from alphapanda import process


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the collector is undone after it."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def with_threshold(settings, gen0: int) -> None:
    settings.CONFIG = dataclasses.replace(settings.CONFIG, gc_gen0_threshold=gen0, metrics_port=0)


def test_started_when_threshold_set_then_heap_frozen_and_young_collections_rarer(
    settings, collector, caplog
) -> None:
    with_threshold(settings, 12_345)
    with caplog.at_level(logging.INFO, logger="alphapanda.process"):
        process.started("unit")
    assert gc.get_threshold() == (12_345, *process.OLDER_THRESHOLDS)
    assert gc.get_freeze_count() > 1000, "start-up's modules and Django's objects are frozen"
    assert "unit:" in caplog.text and "GC_GEN0_THRESHOLD" in caplog.text


def test_started_when_threshold_zero_then_python_defaults_left_alone(settings, collector, caplog) -> None:
    gc.set_threshold(700, 10, 10)
    with_threshold(settings, 0)
    with caplog.at_level(logging.INFO, logger="alphapanda.process"):
        process.started("unit")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
    assert "frozen" not in caplog.text


def test_tune_gc_when_garbage_cycles_then_still_collected(collector) -> None:
    process.tune_gc(100)

    class Node:
        pass

    collected = gc.get_stats()[0]["collected"]
    for _ in range(1000):  # cycles: only the collector frees them
        a, b = Node(), Node()
        a.other, b.other = b, a
    assert gc.get_stats()[0]["collected"] > collected
