"""A consumer's fetch wait comes from `KAFKA_FETCH_WAIT_MS`: low for Tansu, which sleeps it out, and
higher on a broker that answers as data arrives."""

from __future__ import annotations

import dataclasses

from alphapanda import kafka


def test_consumer_config_when_fetch_wait_configured_then_used(settings) -> None:
    settings.CONFIG = dataclasses.replace(settings.CONFIG, kafka_fetch_wait_ms=100)
    config = kafka.consumer_config("g")
    assert (config["group.id"], config["fetch.wait.max.ms"]) == ("g", 100)
    assert config["enable.auto.commit"] is False  # offsets are committed after completion, by hand


def test_consumer_config_when_overridden_then_override_wins(settings) -> None:
    settings.CONFIG = dataclasses.replace(settings.CONFIG, kafka_fetch_wait_ms=100)
    assert kafka.consumer_config("g", **{"fetch.wait.max.ms": 5})["fetch.wait.max.ms"] == 5
