"""Topic names, DLQ names, reading broker and stream back from a name, and partition keys."""

from __future__ import annotations

import pytest

from alphapanda import topics
from alphapanda.topics import (
    BRIDGED_STREAMS,
    BROKER_STREAMS,
    MARKET_TICKS,
    PARTITIONS,
    TopicSpec,
    all_topics,
    bridged_topics,
    broker_of,
    broker_topic,
    dlq_topic,
    order_key,
    stream_of,
    tick_key,
)

# --- names -----------------------------------------------------------------------------------------


def test_stream_names_when_listed_then_exact() -> None:
    assert MARKET_TICKS == "market.ticks"
    assert BROKER_STREAMS == (
        "signals.raw",
        "signals.validated",
        "signals.rejected",
        "orders.placed",
        "orders.filled",
        "orders.failed",
    )
    assert BRIDGED_STREAMS == ("signals.raw", "signals.validated", "orders.filled")
    assert set(BRIDGED_STREAMS) <= set(BROKER_STREAMS)


@pytest.mark.parametrize(
    ("broker", "stream", "expected"),
    [
        ("paper", topics.SIGNALS_RAW, "paper.signals.raw"),
        ("zerodha", topics.ORDERS_FILLED, "zerodha.orders.filled"),
        ("paper", topics.SIGNALS_REJECTED, "paper.signals.rejected"),
    ],
)
def test_broker_topic_when_built_then_broker_dot_stream(broker: str, stream: str, expected: str) -> None:
    assert broker_topic(broker, stream) == expected


@pytest.mark.parametrize(
    ("topic", "expected"),
    [("market.ticks", "market.ticks.dlq"), ("paper.signals.raw", "paper.signals.raw.dlq")],
)
def test_dlq_topic_when_built_then_dlq_suffix(topic: str, expected: str) -> None:
    assert dlq_topic(topic) == expected


# --- broker_of / stream_of -------------------------------------------------------------------------


@pytest.mark.parametrize("broker", ["paper", "zerodha"])
@pytest.mark.parametrize("stream", BROKER_STREAMS)
def test_broker_and_stream_when_read_from_broker_topic_then_round_trip(broker: str, stream: str) -> None:
    topic = broker_topic(broker, stream)
    assert broker_of(topic) == broker
    assert stream_of(topic) == stream


@pytest.mark.parametrize("broker", ["paper", "zerodha"])
@pytest.mark.parametrize("stream", BROKER_STREAMS)
def test_broker_and_stream_when_read_from_broker_dlq_then_base_stream(broker: str, stream: str) -> None:
    topic = dlq_topic(broker_topic(broker, stream))
    assert broker_of(topic) == broker
    assert stream_of(topic) == stream


def test_broker_of_when_market_ticks_then_none() -> None:
    assert broker_of(MARKET_TICKS) is None


def test_broker_of_when_market_ticks_dlq_then_none() -> None:
    assert broker_of(dlq_topic(MARKET_TICKS)) is None


def test_stream_of_when_market_ticks_then_itself() -> None:
    assert stream_of(MARKET_TICKS) == "market.ticks"


def test_stream_of_when_market_ticks_dlq_then_market_ticks() -> None:
    assert stream_of("market.ticks.dlq") == "market.ticks"


def test_broker_of_when_name_has_no_dot_then_none() -> None:
    assert broker_of("orphan") is None
    assert stream_of("orphan") == "orphan"


# --- topic sets ------------------------------------------------------------------------------------


def test_bridged_topics_when_paper_then_ticks_and_paper_work_streams() -> None:
    assert bridged_topics(("paper",)) == [
        "market.ticks",
        "paper.signals.raw",
        "paper.signals.validated",
        "paper.orders.filled",
    ]


def test_bridged_topics_when_two_brokers_then_market_ticks_once() -> None:
    names = bridged_topics(("paper", "zerodha"))
    assert names.count(MARKET_TICKS) == 1
    assert "zerodha.orders.filled" in names
    assert len(names) == 1 + 2 * len(BRIDGED_STREAMS)


def test_all_topics_when_paper_only_then_no_zerodha_topic() -> None:
    names = [spec.name for spec in all_topics(("paper",))]
    assert not [name for name in names if "zerodha" in name]


def test_all_topics_when_paper_only_then_every_topic_has_its_dlq() -> None:
    names = {spec.name for spec in all_topics(("paper",))}
    base = {MARKET_TICKS} | {broker_topic("paper", stream) for stream in BROKER_STREAMS}
    assert names == base | {dlq_topic(name) for name in base}
    assert len(names) == 2 * (1 + len(BROKER_STREAMS))


def test_all_topics_when_listed_then_each_dlq_follows_its_topic() -> None:
    names = [spec.name for spec in all_topics(("paper",))]
    for topic, dlq in zip(names[::2], names[1::2], strict=True):
        assert dlq == dlq_topic(topic)


def test_all_topics_when_listed_then_partition_count_everywhere() -> None:
    specs = all_topics(("paper", "zerodha"))
    assert all(isinstance(spec, TopicSpec) and spec.partitions == PARTITIONS for spec in specs)
    assert len({spec.name for spec in specs}) == len(specs) == 2 * (1 + 2 * len(BROKER_STREAMS))


def test_all_topics_when_no_broker_then_only_market_ticks() -> None:
    assert [spec.name for spec in all_topics(())] == ["market.ticks", "market.ticks.dlq"]


# --- keys ------------------------------------------------------------------------------------------


def test_tick_key_when_token_then_decimal_bytes() -> None:
    assert tick_key(738561) == b"738561"


def test_tick_key_when_called_twice_then_same_bytes() -> None:
    assert tick_key(256265) == tick_key(256265)
    assert tick_key(256265) != tick_key(256266)


def test_order_key_when_strategy_and_token_then_joined_bytes() -> None:
    assert order_key("momentum", 738561) == b"momentum:738561"


def test_order_key_when_strategy_or_token_differs_then_key_differs() -> None:
    key = order_key("momentum", 738561)
    assert key == order_key("momentum", 738561)
    assert key != order_key("meanrev", 738561)
    assert key != order_key("momentum", 738562)
    assert isinstance(key, bytes)


def test_order_key_when_non_ascii_strategy_then_utf8() -> None:
    assert order_key("stratégie", 1) == "stratégie:1".encode()
