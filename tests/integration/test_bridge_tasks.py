"""What the bridge puts on a broker's queue: the batches of a topic's partitions that are ready
together travel as one task, each with its own batch id, in offset order; the task carries the key of
its body, the records, in a Redis key of its broker's."""

from __future__ import annotations

import base64
import json

import pytest
from kombu.serialization import loads

from alphapanda import bridge as bridge_module
from alphapanda import envelope, task_body
from alphapanda.celery import app as celery_app
from tests.support import builders
from tests.support.market import publish_raw
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration
N = 40  # records a wave: keys enough to land on every partition


def queued_tasks(redis_client, queue: str) -> list[tuple[str, dict]]:
    """(task name, kwargs with the body's `parts` read back) of every task waiting on `queue`, read as
    a worker reads them."""
    tasks = []
    for raw in redis_client.lrange(queue, 0, -1):
        message = json.loads(raw)
        assert message["content-type"] == "application/json"
        _, kwargs, _ = loads(
            base64.b64decode(message["body"]), message["content-type"], message["content-encoding"]
        )
        assert set(kwargs) == {"broker", "topic", "body"}, "the records travel in the body, not the task"
        assert task_body.of_broker(queue, kwargs["body"])
        tasks.append(
            (message["headers"]["task"], kwargs | {"parts": task_body.take(redis_client, kwargs["body"])})
        )
    return tasks


def carried(tasks: list[tuple[str, dict]]) -> int:
    return sum(len(records) for _, kwargs in tasks for *_, records in kwargs["parts"])


def publish_wave(wave: int) -> list[bytes]:
    """The wave's messages, as published."""
    values = [
        builders.encoded(envelope.SIGNAL, builders.signal(strategy=f"wave{wave}-{i}"), broker="paper")
        for i in range(N)
    ]
    publish_raw([("paper.signals.raw", f"key-{i}".encode(), value) for i, value in enumerate(values)])
    return values


def test_partitions_ready_together_go_as_one_task_with_a_batch_id_each_in_offset_order(
    processes, redis_client
) -> None:
    with celery_app.connection_for_write() as connection:  # the binding a worker would declare
        celery_app.amqp.queues["paper"](connection.default_channel).declare()
    bridge = processes.bridge()
    published = publish_wave(1)
    wait_for(
        lambda: carried(queued_tasks(redis_client, "paper")) == N, timeout=60, what="the first wave queued"
    )
    first = queued_tasks(redis_client, "paper")  # one batch in flight per partition, however grouped
    ends = {p: records[-1][0] for _, kwargs in first for p, _, records in kwargs["parts"]}
    assert sorted(ends) == [0, 1, 2, 3]
    queued = [
        task_body.value_bytes(v)
        for _, kwargs in first
        for *_, records in kwargs["parts"]
        for *_, v in records
    ]
    assert sorted(queued) == sorted(published), "each message reaches the worker byte for byte"

    # The second wave buffers behind the batches in flight; when all four finish at once, every
    # partition is ready in the same step.
    publish_wave(2)
    wait_for(lambda: f"consumed={2 * N} " in bridge.output(), timeout=60, what="the second wave consumed")
    redis_client.delete("paper")  # as a worker would have taken them
    done = redis_client.pipeline(transaction=True)  # all four completions in one read
    for _, kwargs in first:
        for _, batch_id, _ in kwargs["parts"]:
            done.xadd(bridge_module.done_stream("paper"), {"batch": batch_id, "event": "done"})
    done.execute()

    wait_for(
        lambda: carried(queued_tasks(redis_client, "paper")) == N, timeout=60, what="the second wave queued"
    )
    bridge.popen.kill()  # no worker will finish the batches: its drain would wait them out on stop
    bridge.popen.wait()
    processes.procs.remove(bridge)
    [(name, kwargs)] = queued_tasks(redis_client, "paper")
    assert name == "riskcheck.tasks.validate_signals"
    assert (kwargs["broker"], kwargs["topic"]) == ("paper", "paper.signals.raw")
    assert sorted(p for p, _, _ in kwargs["parts"]) == [0, 1, 2, 3]
    assert len({batch_id for _, batch_id, _ in kwargs["parts"]}) == 4  # each partition commits on its own
    for partition, _, records in kwargs["parts"]:
        offsets = [offset for offset, _, _ in records]
        assert offsets == list(range(ends[partition] + 1, ends[partition] + 1 + len(offsets)))
