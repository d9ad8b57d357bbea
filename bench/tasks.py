"""The bare hop's task: does nothing but note when it started, so the hop is all that is measured."""

from __future__ import annotations

import time

from celery import shared_task

from alphapanda import redis_conn

SAMPLES = "bench:noop"  # a Redis list of "<sent ns> <started ns>", one per task


@shared_task(name="bench.noop")
def noop(sent_ns: int) -> None:
    redis_conn.client().rpush(SAMPLES, f"{sent_ns} {time.time_ns()}")
