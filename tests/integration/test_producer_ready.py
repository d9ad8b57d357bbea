"""A long-running process's producer is ready before it stamps its first message."""

from __future__ import annotations

import logging

from alphapanda import infra, kafka


def test_ready_producer_on_a_live_broker_returns_with_its_producer_id_assigned(
    kafka_bootstrap, caplog
) -> None:
    with caplog.at_level(logging.WARNING, logger="alphapanda.kafka"):
        producer = kafka.ready_producer(timeout=20)
    assert not [r for r in caplog.records if "not ready" in r.getMessage()]
    producer.flush(5)


def test_ready_producer_when_the_broker_is_unreachable_warns_and_returns(settings, caplog) -> None:
    settings.KAFKA_BOOTSTRAP = f"127.0.0.1:{infra.free_port()}"
    with caplog.at_level(logging.WARNING, logger="alphapanda.kafka"):
        kafka.ready_producer(timeout=0.3)
    assert [r.getMessage() for r in caplog.records if "not ready" in r.getMessage()] == [
        f"Kafka at {settings.KAFKA_BOOTSTRAP}: producer not ready after 0.3s; its messages wait until it is"
    ]
