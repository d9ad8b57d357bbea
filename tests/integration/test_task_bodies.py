"""A batch task's body in Redis (`alphapanda/task_body.py`): read once, deleted when its task is done,
so a redelivered task finds nothing to redo; never read by another broker's task."""

from __future__ import annotations

import logging
import uuid

import pytest

from alphapanda import bridge, task_body
from riskcheck.models import SignalDecision
from riskcheck.tasks import validate_signals_task
from tests.support import hostile

pytestmark = pytest.mark.integration
TOPIC = "paper.signals.raw"


@pytest.fixture
def infra(kafka_topics, instruments, redis_client):
    return redis_client


def _stored(redis_client, broker: str, count: int) -> tuple[str, str]:
    """A body of `count` valid signals for `broker`, put as the bridge puts it: (key, batch id)."""
    batch_id = uuid.uuid4().hex
    records = [task_body.record(n, "k", hostile.valid(TOPIC)) for n in range(count)]
    return task_body.put(redis_client, broker, task_body.encode([[0, batch_id, records]])), batch_id


def _events(redis_client, batch_id: str) -> list[str]:
    return [f["event"] for _, f in redis_client.xrange(bridge.done_stream("paper")) if f["batch"] == batch_id]


def test_body_when_its_task_runs_then_applied_reported_and_deleted(infra) -> None:
    key, batch_id = _stored(infra, "paper", 3)
    assert infra.ttl(key) > 3600, "a body outlives any queue wait, and expires if its task never runs"
    assert validate_signals_task.run(broker="paper", topic=TOPIC, body=key) == 3
    assert SignalDecision.objects.filter(broker="paper").count() == 3
    assert _events(infra, batch_id) == ["start", "done"]
    assert not infra.exists(key)


def test_body_when_task_redelivered_after_done_then_nothing_redone(infra, caplog) -> None:
    key, batch_id = _stored(infra, "paper", 2)
    validate_signals_task.run(broker="paper", topic=TOPIC, body=key)
    with caplog.at_level(logging.WARNING, logger="alphapanda.batches"):
        assert validate_signals_task.run(broker="paper", topic=TOPIC, body=key) == 0
    assert f"batch body {key} is gone" in caplog.text
    assert _events(infra, batch_id) == ["start", "done"], "the redelivery reports nothing"
    assert SignalDecision.objects.filter(broker="paper").count() == 2


def test_body_when_key_of_another_broker_then_refused_and_left_alone(infra) -> None:
    key, _ = _stored(infra, "paper", 1)
    with pytest.raises(ValueError, match="refusing to cross brokers"):
        validate_signals_task.run(broker="zerodha", topic="zerodha.signals.raw", body=key)
    assert infra.exists(key)
    assert not SignalDecision.objects.exists()


def test_task_when_neither_body_nor_parts_then_type_error(infra) -> None:
    with pytest.raises(TypeError, match="needs the batches"):
        validate_signals_task.run(broker="paper", topic=TOPIC)
