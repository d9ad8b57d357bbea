"""What the bridge puts on a broker's queue: a topic's ready partitions as one task, in order."""

from __future__ import annotations

import base64
import json

import pytest

from alphapanda import envelope
from alphapanda.celery import app as celery_app
from tests.support import builders
from tests.support.market import publish_raw
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def queued_tasks(redis_client, queue: str) -> list[tuple[str, dict]]:
    """(task name, kwargs) of every task waiting on `queue`, as a worker would receive them."""
    tasks = []
    for raw in redis_client.lrange(queue, 0, -1):
        message = json.loads(raw)
        _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], kwargs))
    return tasks


def test_bridge_sends_the_ready_partitions_of_a_topic_as_one_task_in_offset_order(
    processes, redis_client
) -> None:
    n = 40  # keys enough to land on every partition
    publish_raw(
        [
            ("paper.signals.raw", f"key-{i}".encode(), builders.encoded(
                envelope.SIGNAL, builders.signal(strategy=f"group-{i}"), broker="paper"
            ))
            for i in range(n)
        ]
    )  # fmt: skip
    with celery_app.connection_for_write() as connection:  # the binding a worker would declare
        celery_app.amqp.queues["paper"](connection.default_channel).declare()
    bridge = processes.bridge()  # started after the publish: its first fetch finds every partition filled

    def carried() -> int:
        return sum(
            len(records)
            for _, kwargs in queued_tasks(redis_client, "paper")
            for *_, records in kwargs["parts"]
        )

    wait_for(lambda: carried() == n, timeout=60, what=f"{n} records on the paper queue")
    bridge.popen.kill()  # no worker will finish the batches: its drain would wait them out on stop
    bridge.popen.wait()
    processes.procs.remove(bridge)
    [(name, kwargs)] = queued_tasks(redis_client, "paper")
    assert name == "riskcheck.tasks.validate_signals"
    assert (kwargs["broker"], kwargs["topic"]) == ("paper", "paper.signals.raw")
    partitions = [partition for partition, _, _ in kwargs["parts"]]
    assert sorted(partitions) == [0, 1, 2, 3]
    assert len({batch_id for _, batch_id, _ in kwargs["parts"]}) == 4  # each partition commits on its own
    for _, _, records in kwargs["parts"]:
        offsets = [offset for offset, _, _ in records]
        assert offsets == list(range(len(records)))
