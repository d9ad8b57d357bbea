"""What every long-running process (feed, strategy runner, bridge, worker, order watcher) does once it
is set up and before its loop: serve its metrics, and settle its garbage collector.

The collector: a batch task allocates tens of thousands of short-lived objects (decoded envelopes,
depth levels, rows). With Python's default young threshold of 700, the collector ran ~500 times
over the stage profile's 4,000 signals and 8,000 ticks, 265-290 ms of the run, its full passes
walking Django's whole heap. With start-up's heap frozen and a collection every 50,000 net
allocations: once, 13-23 ms (docs/performance.md, "The garbage collector"). Cycles are still
collected, only less often.
"""

from __future__ import annotations

import gc
import logging

from django.conf import settings

from alphapanda import metrics

log = logging.getLogger(__name__)

# Older generations: Python's own ratios (10, 10) made a little lazier, as the young one holds more.
OLDER_THRESHOLDS = (20, 20)


def started(name: str) -> None:
    config = settings.CONFIG
    metrics.serve(config.metrics_port, config.metrics_addr, name)
    if tune_gc(config.gc_gen0_threshold):
        log.info(
            "%s: %d start-up objects frozen, collector thresholds %s (GC_GEN0_THRESHOLD)",
            name,
            gc.get_freeze_count(),
            gc.get_threshold(),
        )


def tune_gc(gen0_threshold: int) -> bool:
    """Freeze what start-up made and raise the young generation's threshold; 0 leaves Python's
    defaults (False)."""
    if gen0_threshold <= 0:
        return False
    gc.collect()
    gc.freeze()  # start-up's objects (modules, Django's apps and URLs) are never scanned again
    gc.set_threshold(gen0_threshold, *OLDER_THRESHOLDS)
    return True
