"""The bare hop's tasks: they do nothing but note when they started, so the hop is all that is measured."""

from __future__ import annotations

import time

from celery import shared_task

from alphapanda import redis_conn

SAMPLES = "bench:noop"  # a Redis list of "<sent ns> <started ns>", one per message


@shared_task(name="bench.noop")
def noop(sent_ns: int) -> None:
    redis_conn.client().rpush(SAMPLES, f"{sent_ns} {time.time_ns()}")


@shared_task(name="bench.noop_batch")
def noop_batch(sent_ns: list[int]) -> None:
    """Many messages in one task, as the bridge sends a partition's batch: one sample each."""
    started = time.time_ns()
    redis_conn.client().rpush(SAMPLES, *(f"{sent} {started}" for sent in sent_ns))
